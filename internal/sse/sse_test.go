package sse

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/store"
)

func testDB(t testing.TB) (*DB, *store.MemObjects, *Keyring) {
	t.Helper()
	meta, objs := store.NewMemMeta(), store.NewMemObjects()
	root, _ := secret.Random(32)
	kr, err := NewKeyring(root, meta)
	if err != nil {
		t.Fatal(err)
	}
	return NewDB(meta, objs, kr, Options{InlineMax: 1024, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}), objs, kr
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func writeExtent(t testing.TB, d *DB, kek KEK, obj string, data []byte) ExtentRef {
	t.Helper()
	w, err := d.NewExtent(kek, "acct", "cont", obj)
	if err != nil {
		t.Fatal(err)
	}
	// odd write sizes exercise segment boundaries
	for p := data; len(p) > 0; {
		n := min(len(p), 10007)
		w.Write(p[:n])
		p = p[n:]
	}
	e, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Update(func(tx *Tx) error {
		if err := tx.Adopt(e, kek); err != nil {
			return err
		}
		return tx.Retarget(nil, []string{e.ID})
	}); err != nil {
		t.Fatal(err)
	}
	return e.ExtentRef
}

func readRange(d *DB, ref ExtentRef, obj string, off, n int64) ([]byte, error) {
	r, err := d.OpenExtent(ref, "acct", "cont", obj)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf bytes.Buffer
	err = r.WriteRange(&buf, off, n)
	return buf.Bytes(), err
}

func TestExtentRoundTripAndRanges(t *testing.T) {
	d, _, kr := testDB(t)
	kek, _ := kr.ServiceKEK(ServiceRef("acct"))
	seg := 1 << DefaultSegmentLog
	for _, size := range []int{0, 1, 1000, 1025, seg - 1, seg, seg + 1, 3*seg + 17, 4 * seg} {
		data := pattern(size)
		ref := writeExtent(t, d, kek, "o", data)
		if ref.Inline != (size <= 1024) {
			t.Fatalf("size %d: inline=%v", size, ref.Inline)
		}
		got, err := readRange(d, ref, "o", 0, int64(size))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: whole read err=%v equal=%v", size, err, bytes.Equal(got, data))
		}
		for _, r := range [][2]int{{0, 1}, {seg - 1, 2}, {seg, seg}, {1, size - 2}, {size / 2, size / 3}} {
			off, n := r[0], r[1]
			if off < 0 || n < 0 || off+n > size {
				continue
			}
			got, err := readRange(d, ref, "o", int64(off), int64(n))
			if err != nil || !bytes.Equal(got, data[off:off+n]) {
				t.Fatalf("size %d range %d+%d: err=%v", size, off, n, err)
			}
		}
	}
}

func TestRecordsSealedAndBound(t *testing.T) {
	d, _, kr := testDB(t)
	kek, _ := kr.ServiceKEK(ServiceRef("acct"))
	secretValue := []byte("canary-record-value")
	if err := d.Update(func(tx *Tx) error {
		tx.Put([]byte("r/1"), secretValue, kek)
		return tx.Put([]byte("r/2"), []byte("other"), kek)
	}); err != nil {
		t.Fatal(err)
	}
	d.meta.View(func(tx store.Tx) error {
		return tx.Scan(nil, nil, func(k, v []byte) error {
			if bytes.Contains(v, secretValue) {
				t.Fatalf("plaintext stored at %q", k)
			}
			return nil
		})
	})
	// swap the two sealed values: both must fail
	d.meta.Update(func(tx store.Tx) error {
		a, _ := tx.Get([]byte("d\x00r/1"))
		b, _ := tx.Get([]byte("d\x00r/2"))
		a, b = append([]byte{}, a...), append([]byte{}, b...)
		tx.Put([]byte("d\x00r/1"), b)
		return tx.Put([]byte("d\x00r/2"), a)
	})
	d.View(func(tx *Tx) error {
		for _, k := range []string{"r/1", "r/2"} {
			if _, err := tx.Get([]byte(k)); !errors.Is(err, ErrAuth) {
				t.Fatalf("swapped record %s: err=%v", k, err)
			}
		}
		return nil
	})
}

func TestRecordTamperEveryByte(t *testing.T) {
	d, _, kr := testDB(t)
	kek, _ := kr.ServiceKEK(ServiceRef("acct"))
	d.Update(func(tx *Tx) error { return tx.Put([]byte("r"), []byte("some record value"), kek) })
	var orig []byte
	d.meta.View(func(tx store.Tx) error { v, _ := tx.Get([]byte("d\x00r")); orig = append(orig, v...); return nil })
	for i := range orig {
		for _, bit := range []byte{1, 0x80} {
			mut := append([]byte{}, orig...)
			mut[i] ^= bit
			d.meta.Update(func(tx store.Tx) error { return tx.Put([]byte("d\x00r"), mut) })
			err := d.View(func(tx *Tx) error { _, err := tx.Get([]byte("r")); return err })
			if err == nil {
				t.Fatalf("flip of byte %d bit %x went unnoticed", i, bit)
			}
		}
	}
}

func TestExtentTamper(t *testing.T) {
	seg := 1 << DefaultSegmentLog
	data := pattern(3*seg + 100)
	type mut struct {
		name string
		fn   func(b []byte) []byte
	}
	muts := []mut{
		{"truncate at segment boundary", func(b []byte) []byte { return b[:len(b)-(100+tagSize)] }},
		{"truncate one byte", func(b []byte) []byte { return b[:len(b)-1] }},
		{"append byte", func(b []byte) []byte { return append(b, 0) }},
		{"append segment", func(b []byte) []byte { return append(b, b[len(b)-seg-tagSize-100-tagSize:len(b)-100-tagSize]...) }},
		{"swap segments 0 and 1", func(b []byte) []byte {
			h := len(b) - (3*(seg+tagSize) + 100 + tagSize)
			out := append([]byte{}, b...)
			copy(out[h:], b[h+seg+tagSize:h+2*(seg+tagSize)])
			copy(out[h+seg+tagSize:], b[h:h+seg+tagSize])
			return out
		}},
		{"empty", func(b []byte) []byte { return nil }},
	}
	for off := 0; off < len(data)+200; off += 997 {
		o := off
		muts = append(muts, mut{fmt.Sprintf("flip %d", o), func(b []byte) []byte {
			if o >= len(b) {
				return b[:len(b)-1]
			}
			c := append([]byte{}, b...)
			c[o] ^= 0x10
			return c
		}})
	}
	for _, m := range muts {
		d, objs, kr := testDB(t)
		kek, _ := kr.ServiceKEK(ServiceRef("acct"))
		ref := writeExtent(t, d, kek, "o", data)
		objs.Tamper(ref.ID, m.fn)
		got, err := readRange(d, ref, "o", 0, int64(len(data)))
		if err == nil {
			t.Fatalf("%s: read succeeded", m.name)
		}
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("%s: err = %v, want ErrAuth", m.name, err)
		}
		// never release altered bytes: whatever was written must be a true prefix
		if !bytes.Equal(got, data[:len(got)]) {
			t.Fatalf("%s: released altered plaintext", m.name)
		}
	}
}

func TestExtentSwapBetweenObjects(t *testing.T) {
	d, objs, kr := testDB(t)
	kek, _ := kr.ServiceKEK(ServiceRef("acct"))
	a := writeExtent(t, d, kek, "a", pattern(5000))
	b := writeExtent(t, d, kek, "b", pattern(5000))
	ra, _ := objs.Open(a.ID)
	rb, _ := objs.Open(b.ID)
	ba, bb := make([]byte, ra.Size()), make([]byte, rb.Size())
	ra.ReadAt(ba, 0)
	rb.ReadAt(bb, 0)
	objs.Tamper(a.ID, func([]byte) []byte { return bb })
	objs.Tamper(b.ID, func([]byte) []byte { return ba })
	if _, err := readRange(d, a, "a", 0, 5000); !errors.Is(err, ErrAuth) {
		t.Fatalf("swapped extent a: %v", err)
	}
	// and an extent read under another object's name fails even untampered
	objs.Tamper(b.ID, func([]byte) []byte { return bb })
	if _, err := readRange(d, b, "a", 0, 5000); !errors.Is(err, ErrAuth) {
		t.Fatalf("extent read under wrong name: %v", err)
	}
}

func TestRotationKeepsOldReadable(t *testing.T) {
	d, _, kr := testDB(t)
	k1, _ := kr.ServiceKEK(ServiceRef("acct"))
	ref := writeExtent(t, d, k1, "o", pattern(3000))
	k2, err := kr.RotateService(ServiceRef("acct"))
	if err != nil || k2.Version() != "2" {
		t.Fatalf("rotate: %v %v", k2, err)
	}
	cur, _ := kr.ServiceKEK(ServiceRef("acct"))
	if cur.Version() != "2" {
		t.Fatalf("current version %s", cur.Version())
	}
	if got, err := readRange(d, ref, "o", 0, 3000); err != nil || !bytes.Equal(got, pattern(3000)) {
		t.Fatalf("old version unreadable: %v", err)
	}
}

func TestWrongRootKey(t *testing.T) {
	meta, objs := store.NewMemMeta(), store.NewMemObjects()
	root, _ := secret.Random(32)
	kr, _ := NewKeyring(root, meta)
	d := NewDB(meta, objs, kr, Options{InlineMax: 1024, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	kek, _ := kr.ServiceKEK(ServiceRef("acct"))
	ref := writeExtent(t, d, kek, "o", pattern(100))
	other, _ := secret.Random(32)
	kr2, _ := NewKeyring(other, meta)
	d2 := NewDB(meta, objs, kr2, Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if _, err := readRange(d2, ref, "o", 0, 100); err == nil {
		t.Fatal("read under a different root key succeeded")
	}
}

func TestRefcountDeletesExtents(t *testing.T) {
	d, objs, kr := testDB(t)
	kek, _ := kr.ServiceKEK(ServiceRef("acct"))
	big := writeExtent(t, d, kek, "o", pattern(5000))
	small := writeExtent(t, d, kek, "o", pattern(10))
	// a second holder (a snapshot) keeps them alive
	d.Update(func(tx *Tx) error { return tx.Retarget(nil, []string{big.ID, small.ID}) })
	d.Update(func(tx *Tx) error { return tx.Retarget([]string{big.ID, small.ID}, nil) })
	if _, err := objs.Open(big.ID); err != nil {
		t.Fatal("extent deleted while still referenced")
	}
	d.Update(func(tx *Tx) error { return tx.Retarget([]string{big.ID}, nil) })
	d.Update(func(tx *Tx) error { return tx.Retarget([]string{small.ID}, nil) })
	if _, err := objs.Open(big.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("unreferenced extent file kept")
	}
	rep, err := d.Verify()
	if err != nil || rep.Extents != 0 || rep.Records != 0 || len(rep.Orphans) != 0 {
		t.Fatalf("after deleting all: %+v %v", rep, err)
	}
}

func TestVerifyAndSweep(t *testing.T) {
	d, objs, kr := testDB(t)
	kek, _ := kr.ServiceKEK(ServiceRef("acct"))
	a := writeExtent(t, d, kek, "a", pattern(4000))
	writeExtent(t, d, kek, "b", pattern(10))
	d.Update(func(tx *Tx) error { return tx.Put([]byte("rec"), []byte("v"), kek) })
	rep, err := d.Verify()
	if err != nil || !rep.OK() || rep.Extents != 2 || rep.Records != 3 {
		t.Fatalf("healthy verify: %+v %v", rep, err)
	}
	if rep.ByKey["service-managed account/acct v1"] != 5 {
		t.Fatalf("by key: %v", rep.ByKey)
	}
	objs.Tamper(a.ID, func(b []byte) []byte { c := append([]byte{}, b...); c[len(c)-5] ^= 1; return c })
	rep, _ = d.Verify()
	if rep.OK() || len(rep.Failed) != 1 || !bytes.Contains([]byte(rep.Failed[0]), []byte("acct/cont/a")) {
		t.Fatalf("tampered verify: %+v", rep)
	}
	// an unadopted extent is an orphan, and Sweep removes it
	w, _ := d.NewExtent(kek, "acct", "cont", "c")
	w.Write(pattern(5000))
	w.Finish()
	rep, _ = d.Verify()
	if len(rep.Orphans) != 1 {
		t.Fatalf("orphans: %v", rep.Orphans)
	}
	if n, err := d.Sweep(); n != 1 || err != nil {
		t.Fatalf("sweep: %d %v", n, err)
	}
}

func FuzzParseHeader(f *testing.F) {
	h := &Header{SegmentLog: 16, Source: SourceService, Wrap: 1, KeyRef: "account/x", KeyVersion: "1", WrappedDEK: make([]byte, 60)}
	b, _ := h.Marshal()
	f.Add(b)
	f.Add([]byte("ATRS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseHeader(b)
		if err != nil {
			return
		}
		if n > len(b) {
			t.Fatal("length past input")
		}
		again, err := h.Marshal()
		if err != nil || !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-marshal differs")
		}
	})
}

func BenchmarkExtentWrite(b *testing.B) {
	d, _, kr := testDB(b)
	kek, _ := kr.ServiceKEK(ServiceRef("acct"))
	data := pattern(4 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w, _ := d.NewExtent(kek, "a", "c", "o")
		w.Write(data)
		e, _ := w.Finish()
		e.Discard()
	}
}

func BenchmarkExtentRead(b *testing.B) {
	d, _, kr := testDB(b)
	kek, _ := kr.ServiceKEK(ServiceRef("acct"))
	data := pattern(4 << 20)
	ref := writeExtent(b, d, kek, "o", data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, _ := d.OpenExtent(ref, "acct", "cont", "o")
		r.WriteRange(io.Discard, 0, r.Size())
		r.Close()
	}
}

func BenchmarkRawGCM(b *testing.B) {
	aead, _ := newGCM(make([]byte, 32))
	data := pattern(1 << DefaultSegmentLog)
	out := make([]byte, 0, len(data)+16)
	nonce := make([]byte, 12)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		out = aead.Seal(out[:0], nonce, data, nil)
	}
	_ = sha256.Sum256(out)
}

func TestEmptyExtentIsAuthenticated(t *testing.T) {
	d, _, kr := testDB(t)
	kek, _ := kr.ServiceKEK(ServiceRef("acct"))
	ref := writeExtent(t, d, kek, "empty", nil)
	if _, err := readRange(d, ref, "empty", 0, 0); err != nil {
		t.Fatalf("empty extent: %v", err)
	}
	if _, err := readRange(d, ref, "other", 0, 0); !errors.Is(err, ErrAuth) {
		t.Fatalf("empty extent under another name: %v", err)
	}
}

// viewCounter counts read transactions: keys are resolved inside other
// transactions, where a nested one may deadlock with a remapping writer.
type viewCounter struct {
	store.Meta
	views int
}

func (v *viewCounter) View(fn func(store.Tx) error) error {
	v.views++
	return v.Meta.View(fn)
}

// TestKeyringResolvesWithoutTransactions: once a keyring is open,
// resolving any stored KEK version, and the current one, reads no store.
func TestKeyringResolvesWithoutTransactions(t *testing.T) {
	meta := store.NewMemMeta()
	root, _ := secret.Random(32)
	kr, _ := NewKeyring(root, meta)
	first, _ := kr.ServiceKEK(ServiceRef("acct"))
	if _, err := kr.RotateService(ServiceRef("acct")); err != nil {
		t.Fatal(err)
	}
	counted := &viewCounter{Meta: meta}
	kr2, err := NewKeyring(root, counted)
	if err != nil {
		t.Fatal(err)
	}
	counted.views = 0
	old, err := kr2.Resolve(SourceService, ServiceRef("acct"), "1")
	if err != nil || old.Version() != "1" {
		t.Fatalf("resolve v1: %v", err)
	}
	cur, err := kr2.ServiceKEK(ServiceRef("acct"))
	if err != nil || cur.Version() != "2" {
		t.Fatalf("current: %v %v", cur, err)
	}
	if _, err := kr2.Resolve(SourceService, ServiceRef("acct"), "3"); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("a version never made: %v", err)
	}
	if counted.views != 0 {
		t.Fatalf("%d read transactions while resolving", counted.views)
	}
	// the reopened v1 is the same key
	dek, _ := secret.Random(32)
	wrapped, err := first.Wrap(dek, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := old.Unwrap(wrapped, nil); err != nil || !got.Equal(dek) {
		t.Fatalf("v1 reopened does not unwrap: %v", err)
	}
}
