package sse

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/store"
)

func infraDB(t *testing.T) (*DB, *store.MemMeta, *store.MemObjects, *Keyring, KEK) {
	t.Helper()
	meta, objs := store.NewMemMeta(), store.NewMemObjects()
	root, _ := secret.Random(32)
	kr, err := NewKeyring(root, meta)
	if err != nil {
		t.Fatal(err)
	}
	iroot, _ := secret.Random(32)
	if err := kr.SetInfrastructureRoot(iroot); err != nil {
		t.Fatal(err)
	}
	svc, _ := kr.ServiceKEK(ServiceRef("acct"))
	infra, err := kr.InfraKEK(InfraRef("acct"))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDB(meta, objs, kr, Options{InlineMax: 1024, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return d, meta, objs, kr, Layered(svc, infra)
}

func TestInfrastructureLayerRoundTrip(t *testing.T) {
	d, _, _, _, kek := infraDB(t)
	seg := 1 << DefaultSegmentLog
	for _, size := range []int{0, 1, 1000, 3*seg + 17, 4 * seg} {
		data := pattern(size)
		ref := writeExtent(t, d, kek, "o", data)
		got, err := readRange(d, ref, "o", 0, int64(size))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: %v", size, err)
		}
		if size > seg {
			got, err := readRange(d, ref, "o", int64(seg-10), int64(min(size-seg+10, 100)))
			if err != nil || !bytes.Equal(got, data[seg-10:seg-10+len(got)]) {
				t.Fatalf("size %d range: %v", size, err)
			}
		}
	}
	if err := d.Update(func(tx *Tx) error { return tx.Put([]byte("r1"), []byte("record value"), kek) }); err != nil {
		t.Fatal(err)
	}
	err := d.View(func(tx *Tx) error {
		v, err := tx.Get([]byte("r1"))
		if err == nil && string(v) != "record value" {
			t.Fatalf("record %q", v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Verify()
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// TestEachInfrastructureLayerAloneCannotDecrypt holds the keys of one layer
// at a time: neither reveals the plaintext.
func TestEachInfrastructureLayerAloneCannotDecrypt(t *testing.T) {
	d, meta, objs, kr, kek := infraDB(t)
	canary := bytes.Repeat([]byte("LAYERCANARY "), 20000)
	ref := writeExtent(t, d, kek, "o", canary)
	if err := d.Update(func(tx *Tx) error { return tx.Put([]byte("r1"), []byte("LAYERCANARY record"), kek) }); err != nil {
		t.Fatal(err)
	}
	var sealedRec []byte
	meta.View(func(tx store.Tx) error {
		v, err := tx.Get(dataKey([]byte("r1")))
		sealedRec = append([]byte(nil), v...)
		return err
	})
	or, err := objs.Open(ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	sealedExt := make([]byte, or.Size())
	or.ReadAt(sealedExt, 0)
	or.Close()

	// Infrastructure keys only: the outer layer opens, and what it holds is
	// still ciphertext under a key this holder lacks.
	infraOnly := resolverFunc(func(src Source, ref, v string) (KEK, error) {
		if src == SourceInfra {
			return kr.Resolve(src, ref, v)
		}
		return nil, ErrKeyUnavailable
	})
	inner, err := openLayer(infraOnly, recBinding([]byte("r1")), sealedRec)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(inner, []byte("LAYERCANARY")) {
		t.Fatal("the infrastructure layer alone revealed a record")
	}
	if _, _, err := Open(infraOnly, recBinding([]byte("r1")), sealedRec); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("record opened with infrastructure keys only: %v", err)
	}
	lr, err := d.openLayerReader(infraOnly, bytes.NewReader(sealedExt), int64(len(sealedExt)), extBinding("acct", "cont", "o", ref.ID))
	if err != nil {
		t.Fatal(err)
	}
	innerExt := make([]byte, lr.l.plainSize)
	if _, err := lr.ReadAt(innerExt, 0); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(innerExt, []byte("LAYERCANARY")) {
		t.Fatal("the infrastructure layer alone revealed content")
	}

	// Service keys only (any other infrastructure root): nothing opens.
	svcOnly := resolverFunc(func(src Source, ref, v string) (KEK, error) {
		if src == SourceInfra {
			return nil, ErrKeyUnavailable
		}
		return kr.Resolve(src, ref, v)
	})
	if _, _, err := Open(svcOnly, recBinding([]byte("r1")), sealedRec); err == nil {
		t.Fatal("record opened without the infrastructure key")
	}
	other, _ := secret.Random(32)
	kr2, _ := NewKeyring(other, meta)
	kr2.svc = kr.svc
	wrongRoot, _ := secret.Random(32)
	kr2.SetInfrastructureRoot(wrongRoot)
	d2 := NewDB(meta, objs, kr2, Options{InlineMax: 1024, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if _, err := readRange(d2, ref, "o", 0, 10); err == nil {
		t.Fatal("content opened under a different infrastructure root")
	}
	// and the service layer's KEK cannot open the outer layer's DEK
	svc, _ := kr.ServiceKEK(ServiceRef("acct"))
	h, _, err := ParseHeader(sealedExt)
	if err != nil || h.Source != SourceInfra {
		t.Fatalf("outer header: %+v %v", h, err)
	}
	if _, err := svc.Unwrap(h.WrappedDEK, h.wrapAAD()); err == nil {
		t.Fatal("the service KEK unwrapped the infrastructure DEK")
	}
}

type resolverFunc func(src Source, ref, v string) (KEK, error)

func (f resolverFunc) Resolve(src Source, ref, v string) (KEK, error) { return f(src, ref, v) }

func BenchmarkExtentReadLayered(b *testing.B) {
	t := &testing.T{}
	d, _, _, _, kek := infraDB(t)
	data := pattern(4 << 20)
	ref := writeExtent(b, d, kek, "o", data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, err := d.OpenExtent(ref, "acct", "cont", "o")
		if err != nil {
			b.Fatal(err)
		}
		r.WriteRange(io.Discard, 0, r.Size())
		r.Close()
	}
}
