// Package storetest is the conformance suite every store backend passes.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/atrest/atrest/internal/store"
)

// Meta runs the Meta conformance suite against a fresh store from open.
func Meta(t *testing.T, open func(t *testing.T) store.Meta) {
	t.Run("GetPutDelete", func(t *testing.T) {
		s := open(t)
		must(t, s.Update(func(tx store.Tx) error { return tx.Put([]byte("a"), []byte("1")) }))
		must(t, s.View(func(tx store.Tx) error {
			v, err := tx.Get([]byte("a"))
			if err != nil || string(v) != "1" {
				return fmt.Errorf("get a = %q, %v", v, err)
			}
			if _, err := tx.Get([]byte("b")); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("get missing: %v", err)
			}
			return nil
		}))
		must(t, s.Update(func(tx store.Tx) error { return tx.Delete([]byte("a")) }))
		must(t, s.View(func(tx store.Tx) error {
			if _, err := tx.Get([]byte("a")); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("deleted key still there: %v", err)
			}
			return nil
		}))
	})
	t.Run("RollbackOnError", func(t *testing.T) {
		s := open(t)
		boom := errors.New("boom")
		err := s.Update(func(tx store.Tx) error {
			if err := tx.Put([]byte("x"), []byte("1")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update error = %v, want boom", err)
		}
		must(t, s.View(func(tx store.Tx) error {
			if _, err := tx.Get([]byte("x")); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("rolled-back write visible")
			}
			return nil
		}))
	})
	t.Run("ReadYourWrites", func(t *testing.T) {
		s := open(t)
		must(t, s.Update(func(tx store.Tx) error {
			tx.Put([]byte("k"), []byte("v"))
			v, err := tx.Get([]byte("k"))
			if err != nil || string(v) != "v" {
				return fmt.Errorf("own write not visible")
			}
			return nil
		}))
	})
	t.Run("ScanOrderPrefixAfter", func(t *testing.T) {
		s := open(t)
		keys := []string{"p/b", "p/a", "q/a", "p/c", "o/z", "p/", "p/aa"}
		must(t, s.Update(func(tx store.Tx) error {
			for _, k := range keys {
				if err := tx.Put([]byte(k), []byte("v"+k)); err != nil {
					return err
				}
			}
			return nil
		}))
		scan := func(prefix, after string, limit int) []string {
			var got []string
			var a []byte
			if after != "" {
				a = []byte(after)
			}
			must(t, s.View(func(tx store.Tx) error {
				return tx.Scan([]byte(prefix), a, func(k, v []byte) error {
					if string(v) != "v"+string(k) {
						return fmt.Errorf("value of %s = %s", k, v)
					}
					got = append(got, string(k))
					if len(got) == limit {
						return store.ErrStop
					}
					return nil
				})
			}))
			return got
		}
		eq(t, scan("p/", "", 0), []string{"p/", "p/a", "p/aa", "p/b", "p/c"})
		eq(t, scan("p/", "p/a", 0), []string{"p/aa", "p/b", "p/c"})
		eq(t, scan("p/", "", 2), []string{"p/", "p/a"})
		eq(t, scan("", "p/c", 0), []string{"q/a"})
		eq(t, scan("r", "", 0), nil)
	})
	t.Run("ConcurrentUpdates", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		for i := 0; i < 64; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				k := []byte(fmt.Sprintf("c/%03d", i))
				if err := s.Update(func(tx store.Tx) error { return tx.Put(k, k) }); err != nil {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		n := 0
		must(t, s.View(func(tx store.Tx) error {
			return tx.Scan([]byte("c/"), nil, func(k, v []byte) error { n++; return nil })
		}))
		if n != 64 {
			t.Fatalf("after 64 concurrent updates: %d keys", n)
		}
	})
	t.Run("WriteInViewFails", func(t *testing.T) {
		s := open(t)
		if err := s.View(func(tx store.Tx) error { return tx.Put([]byte("a"), []byte("b")) }); err == nil {
			t.Fatal("Put in View succeeded")
		}
	})
}

// Objects runs the Objects conformance suite against a fresh store from open.
func Objects(t *testing.T, open func(t *testing.T) store.Objects) {
	t.Run("WriteCommitRead", func(t *testing.T) {
		s := open(t)
		data := bytes.Repeat([]byte("0123456789"), 100000)
		w, err := s.Create("e1")
		must(t, err)
		if _, err := s.Open("e1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("uncommitted extent visible: %v", err)
		}
		_, err = w.Write(data[:500000])
		must(t, err)
		_, err = w.Write(data[500000:])
		must(t, err)
		must(t, w.Commit())
		r, err := s.Open("e1")
		must(t, err)
		defer r.Close()
		if r.Size() != int64(len(data)) {
			t.Fatalf("size %d, want %d", r.Size(), len(data))
		}
		buf := make([]byte, 1000)
		n, err := r.ReadAt(buf, 123456)
		if n != 1000 || (err != nil && err != io.EOF) || !bytes.Equal(buf, data[123456:124456]) {
			t.Fatalf("ReadAt: n=%d err=%v", n, err)
		}
		n, err = r.ReadAt(buf, int64(len(data))-10)
		if n != 10 || err != io.EOF {
			t.Fatalf("ReadAt at end: n=%d err=%v", n, err)
		}
	})
	t.Run("AbortLeavesNothing", func(t *testing.T) {
		s := open(t)
		w, err := s.Create("e2")
		must(t, err)
		w.Write([]byte("partial"))
		must(t, w.Abort())
		if _, err := s.Open("e2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("aborted extent visible: %v", err)
		}
		var ids []string
		must(t, s.List(func(id string) error { ids = append(ids, id); return nil }))
		if len(ids) != 0 {
			t.Fatalf("aborted extent listed: %v", ids)
		}
	})
	t.Run("DeleteAndList", func(t *testing.T) {
		s := open(t)
		for _, id := range []string{"a1", "b2", "c3"} {
			w, err := s.Create(id)
			must(t, err)
			w.Write([]byte(id))
			must(t, w.Commit())
		}
		must(t, s.Delete("b2"))
		must(t, s.Delete("missing"))
		got := map[string]bool{}
		must(t, s.List(func(id string) error { got[id] = true; return nil }))
		if len(got) != 2 || !got["a1"] || !got["c3"] {
			t.Fatalf("List = %v", got)
		}
		if _, err := s.Open("b2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted extent opens: %v", err)
		}
	})
	t.Run("EmptyExtent", func(t *testing.T) {
		s := open(t)
		w, err := s.Create("empty")
		must(t, err)
		must(t, w.Commit())
		r, err := s.Open("empty")
		must(t, err)
		defer r.Close()
		if r.Size() != 0 {
			t.Fatalf("size %d", r.Size())
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func eq(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
