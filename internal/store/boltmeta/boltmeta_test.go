package boltmeta

import (
	"path/filepath"
	"testing"

	"github.com/atrest/atrest/internal/store"
	"github.com/atrest/atrest/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Meta(t, func(t *testing.T) store.Meta {
		db, err := Open(filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx store.Tx) error { return tx.Put([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx store.Tx) error {
		if v, err := tx.Get([]byte("k")); err != nil || string(v) != "v" {
			t.Fatalf("after reopen: %q %v", v, err)
		}
		return nil
	})
}

func BenchmarkUpdateParallel(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "meta.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, 4096)
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			k := []byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)}
			if err := db.Update(func(tx store.Tx) error { return tx.Put(k, val) }); err != nil {
				b.Error(err)
			}
		}
	})
}
