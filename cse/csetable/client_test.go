package csetable

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/atrest/atrest/cse"
	"github.com/atrest/atrest/internal/atresttest"
)

func newKEK(t testing.TB) *cse.AESKEK {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	k, err := cse.NewAESKEK("local:csetable-test", key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newTable(t testing.TB, ctx context.Context, name string) *aztables.Client {
	t.Helper()
	sc, err := aztables.NewServiceClientFromConnectionString(atresttest.ConnectionString(atresttest.Start(t)),
		&aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	tc := sc.NewClient(name)
	if _, err := tc.CreateTable(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return tc
}

func entityJSON(t testing.TB, props map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(aztables.EDMEntity{Entity: aztables.Entity{PartitionKey: "pk", RowKey: "rk"}, Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRoundTrip writes an entity with encrypted and clear properties and
// checks the stored form, reads, queries with and without projection, and
// replace.
func TestRoundTrip(t *testing.T) {
	ctx := atresttest.Context(t)
	tc := newTable(t, ctx, "rtrip")
	kek := newKEK(t)
	secretProps := func(pk, rk, name string) bool { return name == "SSN" || name == "Name" }
	c, err := NewClient(tc, Options{KEK: kek, EncryptProperty: secretProps, RequireEncryption: true})
	if err != nil {
		t.Fatal(err)
	}
	props := map[string]any{"SSN": "123-45-6789", "Name": "Zoë", "City": "Bern", "Age": int32(42), "Big": aztables.EDMInt64(1 << 60)}
	if _, err := c.AddEntity(ctx, entityJSON(t, props), nil); err != nil {
		t.Fatal(err)
	}

	raw, err := tc.GetEntity(ctx, "pk", "rk", nil)
	if err != nil {
		t.Fatal(err)
	}
	stored := decode(t, raw.Value)
	if strings.Contains(string(raw.Value), "123-45") || stored["City"] != "Bern" || stored["SSN@odata.type"] != "Edm.Binary" ||
		stored[cse.EntityMetadataProperty] == nil || stored[cse.EntityPropertyListProperty] == nil {
		t.Fatalf("stored entity %s", raw.Value)
	}

	got, err := c.GetEntity(ctx, "pk", "rk", nil)
	if err != nil {
		t.Fatal(err)
	}
	var e aztables.EDMEntity
	if err := json.Unmarshal(got.Value, &e); err != nil {
		t.Fatal(err)
	}
	if e.Properties["SSN"] != "123-45-6789" || e.Properties["Name"] != "Zoë" || e.Properties["City"] != "Bern" ||
		e.Properties["Age"] != int32(42) || e.Properties["Big"] != aztables.EDMInt64(1<<60) || e.Properties[cse.EntityMetadataProperty] != nil {
		t.Fatalf("decrypted %s", got.Value)
	}

	sel := "SSN,City"
	pager := c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Select: &sel})
	n := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Entities {
			m := decode(t, b)
			if m["SSN"] != "123-45-6789" || m["City"] != "Bern" || m["Name"] != nil {
				t.Fatalf("projected %s", b)
			}
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d entities", n)
	}

	props["SSN"] = "987-65-4321"
	if _, err := c.UpsertEntity(ctx, entityJSON(t, props), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateEntity(ctx, entityJSON(t, props), &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeMerge}); !errors.Is(err, ErrMerge) {
		t.Errorf("merge update: %v", err)
	}
	if _, err := c.UpsertEntity(ctx, entityJSON(t, props), &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeMerge}); !errors.Is(err, ErrMerge) {
		t.Errorf("merge upsert: %v", err)
	}
	got, err = c.GetEntity(ctx, "pk", "rk", nil)
	if err != nil || decode(t, got.Value)["SSN"] != "987-65-4321" {
		t.Fatalf("after upsert: %s, %v", got.Value, err)
	}
	props["Age"] = "not a string property"
	bad := func(pk, rk, name string) bool { return name == "Big" }
	cb, _ := NewClient(tc, Options{KEK: kek, EncryptProperty: bad})
	if _, err := cb.UpsertEntity(ctx, entityJSON(t, props), nil); err == nil {
		t.Error("encrypting an Int64 property succeeded")
	}
}

// TestReadsOtherWriters reads the Java-layout vector, stored through the
// plain client, and a plaintext entity with and without RequireEncryption.
func TestReadsOtherWriters(t *testing.T) {
	ctx := atresttest.Context(t)
	tc := newTable(t, ctx, "others")
	v := loadVector(t, "table/table-v1-a256kw-java-layout.json")
	kek, err := cse.ParseJWK(v.KEK)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.AddEntity(ctx, v.Stored.EntityJSON, nil); err != nil {
		t.Fatal(err)
	}
	c, _ := NewClient(tc, Options{KEK: kek, RequireEncryption: true})
	got, err := c.GetEntity(ctx, "pk-java", "rk-java", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, got.Value)
	for k, want := range v.Plaintext.Entity {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}

	if _, err := tc.AddEntity(ctx, entityJSON(t, map[string]any{"Clear": "text"}), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetEntity(ctx, "pk", "rk", nil); !errors.Is(err, cse.ErrNotEncrypted) {
		t.Errorf("strict read of a plaintext entity: %v", err)
	}
	lax, _ := NewClient(tc, Options{KEK: kek})
	if got, err := lax.GetEntity(ctx, "pk", "rk", nil); err != nil || decode(t, got.Value)["Clear"] != "text" {
		t.Errorf("lax read: %v", err)
	}
}

type vector struct {
	KEK       json.RawMessage `json:"kek"`
	Plaintext struct {
		Entity map[string]any `json:"entity"`
	} `json:"plaintext"`
	Stored struct {
		EntityJSON json.RawMessage `json:"entity_json"`
	} `json:"stored"`
}

// loadVector reads a vector from shared/vectors/cse beside an ancestor of
// the working directory.
func loadVector(t testing.TB, name string) vector {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		b, err := os.ReadFile(filepath.Join(dir, "shared", "vectors", "cse", name))
		if err == nil {
			var v vector
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("vector %s not found beside any ancestor", name)
		}
		dir = parent
	}
}

// TestTransaction: a batch through the encrypting client stores every
// added and replaced entity encrypted, deletes by key, and refuses merges
// before sending anything.
func TestTransaction(t *testing.T) {
	ctx := atresttest.Context(t)
	tc := newTable(t, ctx, "batch")
	c, err := NewClient(tc, Options{KEK: newKEK(t), EncryptProperty: func(pk, rk, name string) bool { return name == "Secret" }})
	if err != nil {
		t.Fatal(err)
	}
	ent := func(rk, secret string) []byte {
		b, _ := json.Marshal(map[string]any{"PartitionKey": "p", "RowKey": rk, "Secret": secret, "Plain": "visible"})
		return b
	}
	if _, err := tc.AddEntity(ctx, ent("gone", "old"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitTransaction(ctx, []aztables.TransactionAction{
		{ActionType: aztables.TransactionTypeAdd, Entity: ent("a", "batch-secret-a")},
		{ActionType: aztables.TransactionTypeInsertReplace, Entity: ent("b", "batch-secret-b")},
		{ActionType: aztables.TransactionTypeDelete, Entity: ent("gone", "")},
	}, nil); err != nil {
		t.Fatal(err)
	}
	for rk, secret := range map[string]string{"a": "batch-secret-a", "b": "batch-secret-b"} {
		raw, err := tc.GetEntity(ctx, "p", rk, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw.Value), secret) || !strings.Contains(string(raw.Value), "visible") {
			t.Fatalf("stored %s: %s", rk, raw.Value)
		}
		got, err := c.GetEntity(ctx, "p", rk, nil)
		if err != nil || decode(t, got.Value)["Secret"] != secret {
			t.Fatalf("decrypted %s: %v %s", rk, err, got.Value)
		}
	}
	if _, err := tc.GetEntity(ctx, "p", "gone", nil); err == nil {
		t.Fatal("the batch's delete did not happen")
	}
	_, err = c.SubmitTransaction(ctx, []aztables.TransactionAction{
		{ActionType: aztables.TransactionTypeAdd, Entity: ent("c", "x")},
		{ActionType: aztables.TransactionTypeUpdateMerge, Entity: ent("a", "y")},
	}, nil)
	if !errors.Is(err, ErrMerge) {
		t.Fatalf("a batch with a merge: %v", err)
	}
	if _, err := tc.GetEntity(ctx, "p", "c", nil); err == nil {
		t.Fatal("part of a refused batch was sent")
	}
}
