package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

func (ts *testServer) tableClient(t testing.TB) *aztables.ServiceClient {
	t.Helper()
	c, err := aztables.NewServiceClientFromConnectionString(ts.conn, &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return b
}

// listAll runs a query to the end and returns the entities and page count.
func listAll(t testing.TB, c *aztables.Client, opts *aztables.ListEntitiesOptions) ([]aztables.EDMEntity, int) {
	t.Helper()
	var out []aztables.EDMEntity
	pages := 0
	p := c.NewListEntitiesPager(opts)
	for p.More() {
		page, err := p.NextPage(ctx(t))
		must(t, err)
		pages++
		for _, raw := range page.Entities {
			var e aztables.EDMEntity
			must(t, json.Unmarshal(raw, &e))
			out = append(out, e)
		}
	}
	return out, pages
}

// TestGoTable drives the Table service with the official Go aztables client
// (which signs with SharedKeyLite).
func TestGoTable(t *testing.T) {
	ts := startServer(t)
	sc := ts.tableClient(t)
	cx := ctx(t)
	canary := "TCANARY-8a41f0"

	// tables: create, conflict, invalid names, list with a filter in pages
	for i := 0; i < 5; i++ {
		_, err := sc.CreateTable(cx, fmt.Sprintf("GoTable%d", i), nil)
		must(t, err)
	}
	_, err := sc.CreateTable(cx, "gotable0", nil)
	wantErrorCode(t, err, "TableAlreadyExists")
	_, err = sc.CreateTable(cx, "1table", nil)
	wantErrorCode(t, err, "InvalidResourceName")
	_, err = sc.CreateTable(cx, "ab", nil)
	wantErrorCode(t, err, "OutOfRangeInput")
	tp := sc.NewListTablesPager(&aztables.ListTablesOptions{Filter: to.Ptr("TableName ge 'GoTable' and TableName lt 'GoTablf'"), Top: to.Ptr(int32(2))})
	var tables []string
	pages := 0
	for tp.More() {
		page, err := tp.NextPage(cx)
		must(t, err)
		pages++
		for _, tb := range page.Tables {
			tables = append(tables, *tb.Name)
		}
	}
	if strings.Join(tables, ",") != "GoTable0,GoTable1,GoTable2,GoTable3,GoTable4" || pages != 3 {
		t.Fatalf("tables %v in %d pages", tables, pages)
	}

	// every EDM type round-trips with its annotation
	c := sc.NewClient("GoTable0")
	when := time.Date(2024, 2, 29, 13, 14, 15, 123456700, time.UTC)
	ent := aztables.EDMEntity{
		Entity: aztables.Entity{PartitionKey: "types", RowKey: "all"},
		Properties: map[string]any{
			"Text": "secret " + canary, "Int": int32(-42), "Big": aztables.EDMInt64(1 << 40), "Float": 2.5,
			"Flag": true, "When": aztables.EDMDateTime(when), "ID": aztables.EDMGUID("c9da6455-213d-42c9-9a79-3e9149a57833"),
			"Bytes": aztables.EDMBinary([]byte("binary " + canary)),
		},
	}
	added, err := c.AddEntity(cx, marshal(t, ent), nil)
	must(t, err)
	_, err = c.AddEntity(cx, marshal(t, ent), nil)
	wantErrorCode(t, err, "EntityAlreadyExists")
	got, err := c.GetEntity(cx, "types", "all", nil)
	must(t, err)
	if got.ETag != added.ETag {
		t.Fatalf("etag %s after insert, %s on get", added.ETag, got.ETag)
	}
	var back aztables.EDMEntity
	must(t, json.Unmarshal(got.Value, &back))
	p := back.Properties
	for name, want := range map[string]any{"Text": "secret " + canary, "Int": int32(-42), "Big": aztables.EDMInt64(1 << 40),
		"Float": 2.5, "Flag": true, "ID": aztables.EDMGUID("c9da6455-213d-42c9-9a79-3e9149a57833")} {
		if p[name] != want {
			t.Errorf("%s: got %#v, want %#v", name, p[name], want)
		}
	}
	if w, ok := p["When"].(aztables.EDMDateTime); !ok || !time.Time(w).Equal(when) {
		t.Errorf("When: got %#v, want %v", p["When"], when)
	}
	if b, ok := p["Bytes"].(aztables.EDMBinary); !ok || !bytes.Equal(b, []byte("binary "+canary)) {
		t.Errorf("Bytes: got %#v", p["Bytes"])
	}
	if t.Failed() {
		t.FailNow()
	}
	// no metadata at all with nometadata
	bare, err := c.GetEntity(cx, "types", "all", &aztables.GetEntityOptions{Format: to.Ptr(aztables.MetadataFormatNone)})
	must(t, err)
	if bytes.Contains(bare.Value, []byte("odata")) {
		t.Fatalf("nometadata response: %s", bare.Value)
	}
	full, err := c.GetEntity(cx, "types", "all", &aztables.GetEntityOptions{Format: to.Ptr(aztables.MetadataFormatFull)})
	must(t, err)
	if !bytes.Contains(full.Value, []byte(`"odata.editLink"`)) || !bytes.Contains(full.Value, []byte(`"Timestamp@odata.type":"Edm.DateTime"`)) {
		t.Fatalf("fullmetadata response: %s", full.Value)
	}

	// optimistic concurrency: replace with the current ETag, then a stale one fails
	ent.Properties = map[string]any{"Text": "replaced", "N": int32(1)}
	upd, err := c.UpdateEntity(cx, marshal(t, ent), &aztables.UpdateEntityOptions{IfMatch: &got.ETag, UpdateMode: aztables.UpdateModeReplace})
	must(t, err)
	_, err = c.UpdateEntity(cx, marshal(t, ent), &aztables.UpdateEntityOptions{IfMatch: &got.ETag, UpdateMode: aztables.UpdateModeMerge})
	wantErrorCode(t, err, "UpdateConditionNotSatisfied")
	ent.Properties = map[string]any{"M": "merged"}
	_, err = c.UpdateEntity(cx, marshal(t, ent), &aztables.UpdateEntityOptions{IfMatch: &upd.ETag, UpdateMode: aztables.UpdateModeMerge})
	must(t, err)
	got, err = c.GetEntity(cx, "types", "all", nil)
	must(t, err)
	back = aztables.EDMEntity{}
	must(t, json.Unmarshal(got.Value, &back))
	if len(back.Properties) != 3 || back.Properties["Text"] != "replaced" || back.Properties["M"] != "merged" {
		t.Fatalf("after replace and merge: %#v", back.Properties)
	}
	_, err = c.DeleteEntity(cx, "types", "all", &aztables.DeleteEntityOptions{IfMatch: &upd.ETag})
	wantErrorCode(t, err, "UpdateConditionNotSatisfied")
	_, err = c.DeleteEntity(cx, "types", "all", &aztables.DeleteEntityOptions{IfMatch: &got.ETag})
	must(t, err)
	_, err = c.GetEntity(cx, "types", "all", nil)
	wantErrorCode(t, err, "ResourceNotFound")
	// upserts need no ETag
	_, err = c.UpsertEntity(cx, marshal(t, map[string]any{"PartitionKey": "types", "RowKey": "up", "A": 1}), &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeMerge})
	must(t, err)
	_, err = c.UpsertEntity(cx, marshal(t, map[string]any{"PartitionKey": "types", "RowKey": "up", "B": 2}), &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeMerge})
	must(t, err)
	up, _ := listAll(t, c, &aztables.ListEntitiesOptions{Filter: to.Ptr("RowKey eq 'up'")})
	if len(up) != 1 || up[0].Properties["A"] != int32(1) || up[0].Properties["B"] != int32(2) {
		t.Fatalf("insert-or-merge: %+v", up)
	}

	// transactions: 150 entities in three batches of 50
	for b := 0; b < 3; b++ {
		var actions []aztables.TransactionAction
		for i := b * 50; i < b*50+50; i++ {
			e := map[string]any{"PartitionKey": "p1", "RowKey": fmt.Sprintf("r%03d", i), "N": i, "Even": i%2 == 0,
				"Big": fmt.Sprint(int64(i) << 33), "Big@odata.type": "Edm.Int64", "Note": canary}
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: marshal(t, e)})
		}
		_, err := c.SubmitTransaction(cx, actions, nil)
		must(t, err)
	}
	// a failing transaction changes nothing: r000 already exists
	bad := []aztables.TransactionAction{
		{ActionType: aztables.TransactionTypeAdd, Entity: marshal(t, map[string]any{"PartitionKey": "p1", "RowKey": "new1"})},
		{ActionType: aztables.TransactionTypeUpdateMerge, Entity: marshal(t, map[string]any{"PartitionKey": "p1", "RowKey": "r001", "N": -1})},
		{ActionType: aztables.TransactionTypeAdd, Entity: marshal(t, map[string]any{"PartitionKey": "p1", "RowKey": "r000"})},
	}
	_, err = c.SubmitTransaction(cx, bad, nil)
	wantErrorCode(t, err, "EntityAlreadyExists")
	other := []aztables.TransactionAction{
		{ActionType: aztables.TransactionTypeAdd, Entity: marshal(t, map[string]any{"PartitionKey": "p1", "RowKey": "new2"})},
		{ActionType: aztables.TransactionTypeAdd, Entity: marshal(t, map[string]any{"PartitionKey": "p2", "RowKey": "new2"})},
	}
	_, err = c.SubmitTransaction(cx, other, nil)
	wantErrorCode(t, err, "CommandsInBatchActOnDifferentPartitions")
	// mixed operations in one transaction
	mixed := []aztables.TransactionAction{
		{ActionType: aztables.TransactionTypeDelete, Entity: marshal(t, map[string]any{"PartitionKey": "p1", "RowKey": "r149"})},
		{ActionType: aztables.TransactionTypeUpdateMerge, Entity: marshal(t, map[string]any{"PartitionKey": "p1", "RowKey": "r148", "Extra": "x"})},
		{ActionType: aztables.TransactionTypeInsertReplace, Entity: marshal(t, map[string]any{"PartitionKey": "p1", "RowKey": "r147", "N": 147})},
	}
	_, err = c.SubmitTransaction(cx, mixed, nil)
	must(t, err)

	// queries: a row range in one partition, paged; filters on each type
	rows, pages := listAll(t, c, &aztables.ListEntitiesOptions{Filter: to.Ptr("PartitionKey eq 'p1' and RowKey ge 'r050' and RowKey lt 'r120'"), Top: to.Ptr(int32(30))})
	if len(rows) != 70 || pages != 3 || rows[0].RowKey != "r050" || rows[69].RowKey != "r119" {
		t.Fatalf("row range: %d rows in %d pages", len(rows), pages)
	}
	for _, q := range []struct {
		filter string
		want   int
	}{
		{"PartitionKey eq 'p1'", 149},
		{"PartitionKey eq 'p1' and N ge 100 and N lt 110", 10},
		{"N lt 10 and Even", 5},
		{"N lt 10 and not Even", 5},
		{"(N eq 1 or N eq 3) and PartitionKey eq 'p1'", 2},
		{fmt.Sprintf("Big eq %dL", int64(7)<<33), 1},
		{"Extra eq 'x'", 1},
		{"N eq -1", 0},
		{"RowKey eq 'new1'", 0},
		{"Timestamp gt datetime'2000-01-01T00:00:00Z' and PartitionKey eq 'p1' and RowKey lt 'r010'", 10},
		{"PartitionKey gt 'p0' and PartitionKey lt 'p2' and N ge 140", 9},
	} {
		got, _ := listAll(t, c, &aztables.ListEntitiesOptions{Filter: to.Ptr(q.filter)})
		if len(got) != q.want {
			t.Errorf("%s: %d entities, want %d", q.filter, len(got), q.want)
		}
	}
	sel, _ := listAll(t, c, &aztables.ListEntitiesOptions{Filter: to.Ptr("PartitionKey eq 'p1' and RowKey eq 'r002'"), Select: to.Ptr("N,Missing")})
	if len(sel) != 1 || len(sel[0].Properties) != 1 || sel[0].Properties["N"] != int32(2) {
		t.Fatalf("$select: %+v", sel)
	}
	_, err = c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: to.Ptr("N eq")}).NextPage(cx)
	wantErrorCode(t, err, "InvalidInput")

	// deleting a table removes its entities; the name is free again
	_, err = sc.DeleteTable(cx, "GoTable0", nil)
	must(t, err)
	_, err = c.GetEntity(cx, "p1", "r001", nil)
	wantErrorCode(t, err, "TableNotFound")
	_, err = sc.DeleteTable(cx, "GoTable0", nil)
	wantErrorCode(t, err, "ResourceNotFound")
	_, err = sc.CreateTable(cx, "GoTable0", nil)
	must(t, err)
	if left, _ := listAll(t, c, nil); len(left) != 0 {
		t.Fatalf("%d entities survived their table", len(left))
	}

	// leave entities behind for the canary scan
	c1 := sc.NewClient("GoTable1")
	for i := 0; i < 20; i++ {
		_, err := c1.AddEntity(cx, marshal(t, map[string]any{"PartitionKey": "k", "RowKey": fmt.Sprint(i), "Secret": canary}), nil)
		must(t, err)
	}
	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary, "replaced", "merged"}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}
