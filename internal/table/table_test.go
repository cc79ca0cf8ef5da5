package table

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/odata"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
	"github.com/atrest/atrest/internal/store"
)

// testTable serves a Table service over an in-memory store and returns an
// official client for a fresh table in it.
func testTable(t testing.TB) *aztables.Client {
	c, _ := testService(t)
	return c
}

func testService(t testing.TB) (*aztables.Client, *Service) {
	t.Helper()
	meta := store.NewMemMeta()
	root, _ := secret.Random(32)
	keys, err := sse.NewKeyring(root, meta)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db := sse.NewDB(meta, store.NewMemObjects(), keys, sse.Options{Log: log})
	s := New(db, keys, log)
	accts, _ := edge.ParseAccounts("")
	srv := httptest.NewServer(&edge.Service{Name: "table", Flavor: edge.FlavorTable, Routes: s.Routes(), Split: Split,
		Accounts: accts, Errors: WriteError, Log: log, Version: Version})
	t.Cleanup(srv.Close)
	conn := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;TableEndpoint=%s/%s;", edge.DevAccount, edge.DevKey, srv.URL, edge.DevAccount)
	sc, err := aztables.NewServiceClientFromConnectionString(conn, &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	c := sc.NewClient("tests")
	if _, err := c.CreateTable(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	return c, s
}

func TestEntityCodec(t *testing.T) {
	e := &Entity{Timestamp: -5, Props: []Prop{
		{"S", odata.StringValue("héllo\x00")}, {"B", odata.BoolValue(true)}, {"I", odata.Int32Value(-7)},
		{"L", odata.Int64Value(math.MinInt64)}, {"D", odata.DoubleValue(math.Inf(-1))},
		{"T", odata.Value{Type: odata.DateTime, Int: 1234567}}, {"G", odata.Value{Type: odata.Guid, Str: "c9da6455-213d-42c9-9a79-3e9149a57833"}},
		{"X", odata.BinaryValue([]byte{0, 1, 2})},
	}}
	var back Entity
	if err := decodeEntity(encodeEntity(e), &back); err != nil || !reflect.DeepEqual(*e, back) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, *e, back)
	}
}

// FuzzDecodeEntity: any stored bytes decode or fail, never panic.
func FuzzDecodeEntity(f *testing.F) {
	f.Add(encodeEntity(&Entity{Props: []Prop{{"a", odata.StringValue("b")}, {"n", odata.DoubleValue(1)}}}))
	f.Add([]byte{1, 0, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Entity
		if decodeEntity(b, &e) == nil {
			var again Entity
			if err := decodeEntity(encodeEntity(&e), &again); err != nil {
				t.Fatalf("re-encoding a decoded entity fails: %v", err)
			}
		}
	})
}

// FuzzParseEntity: any request body is an entity or an Azure error.
func FuzzParseEntity(f *testing.F) {
	for _, s := range []string{`{"PartitionKey":"p","RowKey":"r","a":1,"b@odata.type":"Edm.Int64","b":"5"}`, `{"x":1.5e400}`,
		`{"d@odata.type":"Edm.DateTime","d":"2020-01-01T00:00:00Z","g@odata.type":"Edm.Guid","g":"x"}`, `[1]`, `{"a":{}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, _, _, err := parseEntity(b)
		if err != nil {
			if _, ok := err.(*edge.Error); !ok {
				t.Fatalf("%q: non-Azure error %v", b, err)
			}
			return
		}
		var back Entity
		if err := decodeEntity(encodeEntity(&e), &back); err != nil {
			t.Fatalf("%q: stored form does not decode: %v", b, err)
		}
	})
}

func TestSplitAndKeys(t *testing.T) {
	for in, want := range map[string][2]string{
		"Tables": {"Tables", ""}, "Tables('abc')": {"Tables", "abc"}, "$batch": {"$batch", ""}, "t1": {"t1", ""},
		"t1()": {"t1", ""}, "t1(PartitionKey='',RowKey='')": {"t1", "(PartitionKey='',RowKey='')"},
	} {
		if c, o := Split(in); c != want[0] || o != want[1] {
			t.Errorf("Split(%q) = %q, %q", in, c, o)
		}
	}
	for in, want := range map[string][2]string{
		"(PartitionKey='p',RowKey='r')":          {"p", "r"},
		"(RowKey='it''s',PartitionKey='a,b)=c')": {"a,b)=c", "it's"},
		"(PartitionKey='',RowKey='')":            {"", ""},
		"(PartitionKey='x''',RowKey='''''''')":   {"x'", "'''"},
		"(PartitionKey = 'p' , RowKey = 'r')":    {"p", "r"},
	} {
		pk, rk, err := entityKeys(in)
		if err != nil || pk != want[0] || rk != want[1] {
			t.Errorf("entityKeys(%q) = %q, %q, %v", in, pk, rk, err)
		}
	}
	for _, bad := range []string{"(PartitionKey='p')", "(PartitionKey='p',RowKey='r'", "(Foo='p',RowKey='r')", "(PartitionKey=p,RowKey='r')", "(PartitionKey='p,RowKey='r')"} {
		if _, _, err := entityKeys(bad); err == nil {
			t.Errorf("entityKeys(%q) accepted", bad)
		}
	}
}

// TestQueryMatchesBruteForce compares paged range queries with a direct
// evaluation over every entity, on keys chosen to stress the key encoding:
// empty keys, keys that prefix others, quotes and non-ASCII.
func TestQueryMatchesBruteForce(t *testing.T) {
	c := testTable(t)
	keys := []string{"", "a", "a!", "a'b", "aa", "ab", "b", "é", "z~", "zz"}
	type row struct {
		pk, rk string
		n      int
	}
	var rows []row
	for i, pk := range keys {
		var actions []aztables.TransactionAction
		for j, rk := range keys {
			n := i*len(keys) + j
			rows = append(rows, row{pk, rk, n})
			b, _ := json.Marshal(map[string]any{"PartitionKey": pk, "RowKey": rk, "N": n})
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: b})
		}
		if _, err := c.SubmitTransaction(t.Context(), actions, nil); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lit := func() string { return "'" + strings.ReplaceAll(keys[rng.IntN(len(keys))], "'", "''") + "'" }
	ops := []string{"eq", "ne", "gt", "ge", "lt", "le"}
	for i := 0; i < 300; i++ {
		var terms []string
		for k := rng.IntN(4); k >= 0; k-- {
			prop := []string{"PartitionKey", "RowKey"}[rng.IntN(2)]
			terms = append(terms, prop+" "+ops[rng.IntN(len(ops))]+" "+lit())
		}
		if rng.IntN(4) == 0 {
			terms = append(terms, fmt.Sprintf("N lt %d", rng.IntN(100)))
		}
		joiner := " and "
		if rng.IntN(5) == 0 {
			joiner = " or "
		}
		filter := strings.Join(terms, joiner)
		f, err := odata.ParseFilter(filter)
		if err != nil {
			t.Fatal(err)
		}
		var want []int
		for _, r := range rows {
			e := &Entity{PartitionKey: r.pk, RowKey: r.rk, Props: []Prop{{"N", odata.Int32Value(int32(r.n))}}}
			if f.Match(e) {
				want = append(want, r.n)
			}
		}
		var got []int
		p := c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: to.Ptr(filter), Top: to.Ptr(int32(1 + rng.IntN(7)))})
		for p.More() {
			page, err := p.NextPage(t.Context())
			if err != nil {
				t.Fatalf("%s: %v", filter, err)
			}
			for _, raw := range page.Entities {
				var e struct{ N int }
				json.Unmarshal(raw, &e)
				got = append(got, e.N)
			}
		}
		// results come in key (byte) order, N in insertion order
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%s:\n got %v\nwant %v", filter, got, want)
		}
	}
}

// FuzzScanObject checks the flat-object scanner against encoding/json: it
// accepts only valid JSON, and on every flat object with distinct names it
// reads the same members and values.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{"a":"x\u00e9\ud83d\ude00\n","b":-1.5e3,"c":true,"d":null}`, `{}`, ` {"a" : 0 } `,
		`{"a":"\ud800\u0041"}`, `{"a":"\udc00"}`, "{\"a\":\"\xff\"}", `{"a":01}`, `{"a":[1]}`, `{"a":1,}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		members, err := scanObject(b)
		if err == nil && !json.Valid(b) {
			t.Fatalf("%q: accepted invalid JSON", b)
		}
		var ref map[string]any
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if !json.Valid(b) || dec.Decode(&ref) != nil || ref == nil {
			return
		}
		for _, v := range ref {
			switch v.(type) {
			case map[string]any, []any:
				return // nested: refused by design
			}
		}
		if err != nil {
			t.Fatalf("%q: refused valid flat JSON: %v", b, err)
		}
		if noDuplicates(members) != nil {
			return
		}
		if len(members) != len(ref) {
			t.Fatalf("%q: %d members, encoding/json %d", b, len(members), len(ref))
		}
		for _, m := range members {
			var got any
			switch m.val.kind {
			case jsonString:
				got = m.val.text
			case jsonNumber:
				got = json.Number(m.val.text)
			case jsonBool:
				got = m.val.b
			}
			if got != ref[m.name] {
				t.Fatalf("%q: %q is %#v, encoding/json %#v", b, m.name, got, ref[m.name])
			}
		}
	})
}

// TestDeleteLargeTable drops a table bigger than one deletion chunk: it
// vanishes at once, its name is free again, and nothing of it survives;
// a deletion cut short (the marker committed, the rows not yet gone) is
// finished by the next create of the name.
func TestDeleteLargeTable(t *testing.T) {
	defer func(n int) { deleteChunk = n }(deleteChunk)
	deleteChunk = 7
	c, s := testService(t)
	for b := 0; b < 3; b++ {
		var actions []aztables.TransactionAction
		for i := 0; i < 20; i++ {
			e, _ := json.Marshal(map[string]any{"PartitionKey": fmt.Sprint(b), "RowKey": fmt.Sprint(i)})
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: e})
		}
		if _, err := c.SubmitTransaction(t.Context(), actions, nil); err != nil {
			t.Fatal(err)
		}
	}
	// first as if the server died right after marking the table
	kek, _ := s.indexKEK(edge.DevAccount)
	if err := s.db.Update(func(tx *sse.Tx) error { return tx.Put(deletingKey(edge.DevAccount, "tests"), nil, kek) }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetEntity(t.Context(), "0", "0", nil); err == nil || !strings.Contains(err.Error(), "TableNotFound") {
		t.Fatalf("entity of a table being deleted: %v", err)
	}
	if _, err := c.CreateTable(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	var left int
	s.db.View(func(tx *sse.Tx) error {
		return tx.ScanKeys(rowsPrefix(edge.DevAccount, "tests"), nil, func([]byte) error { left++; return nil })
	})
	if left != 0 {
		t.Fatalf("%d entities left after the interrupted delete was finished", left)
	}
	// then a whole delete of a refilled table
	for b := 0; b < 3; b++ {
		var actions []aztables.TransactionAction
		for i := 0; i < 20; i++ {
			e, _ := json.Marshal(map[string]any{"PartitionKey": fmt.Sprint(b), "RowKey": fmt.Sprint(i)})
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: e})
		}
		if _, err := c.SubmitTransaction(t.Context(), actions, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Delete(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetEntity(t.Context(), "0", "0", nil); err == nil || !strings.Contains(err.Error(), "TableNotFound") {
		t.Fatalf("entity of a deleted table: %v", err)
	}
	if _, err := c.CreateTable(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	p := c.NewListEntitiesPager(nil)
	page, err := p.NextPage(t.Context())
	if err != nil || len(page.Entities) != 0 {
		t.Fatalf("recreated table: %v, %d entities", err, len(page.Entities))
	}
}
