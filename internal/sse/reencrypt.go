package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/atrest/atrest/internal/store"
)

// Re-encryption is the rewrap job's optional full mode: every object the
// target claims is decrypted and sealed afresh under a new DEK wrapped by
// the target's KEK, content included, so that no object depends on an old
// KEK version or an old DEK any more. Each object is replaced the way a
// rewrap replaces it (a record in a transaction, an extent file by
// rename), so it stays readable throughout; an infrastructure layer is
// kept, sealed afresh. Redoing a batch after a crash re-encrypts again,
// which is harmless.

// reseal decrypts a whole sealed value and seals it again under kek,
// keeping its infrastructure layer if it had one.
func (d *DB) reseal(kind string, key []byte, b Binding, sealed []byte, target Target, st *RewrapStats) ([]byte, error) {
	inner := sealed
	if isLayer(sealed) {
		var err error
		if inner, err = openLayer(d.keys, b, sealed); err != nil {
			return nil, err
		}
	}
	h, _, err := ParseHeader(inner)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	kek, ok := target(kind, key, h) // asked before opening: a customer-provided key is not here to open with
	if !ok {
		st.Skipped++
		return nil, nil
	}
	plain, _, err := openOne(d.keys, b, inner)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	if kek, err = d.keepLayer(sealed, Inner(kek)); err != nil {
		return nil, err
	}
	out, err := Seal(kek, b, plain)
	if err != nil {
		return nil, err
	}
	st.Reencrypted++
	return out, nil
}

// keepLayer wraps inner in the infrastructure layer the object at head
// was sealed with, if any.
func (d *DB) keepLayer(head []byte, inner KEK) (KEK, error) {
	if !isLayer(head) {
		return inner, nil
	}
	oh, _, err := ParseHeader(head)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	infra, err := d.infraKEK(oh.KeyRef)
	if err != nil {
		return nil, err
	}
	return Layered(inner, infra), nil
}

// ReencryptRecords is RewrapRecords in full mode.
func (d *DB) ReencryptRecords(after []byte, n int, target Target, st *RewrapStats) ([]byte, bool, error) {
	return d.resealRecords(after, n, target, st, "re-encrypt", d.reseal)
}

// scanRecords calls fn on up to n raw records (service records, then
// extent registrations) after `after`, in one transaction.
func (d *DB) scanRecords(after []byte, n int, st *RewrapStats, fn func(tx store.Tx, k, v []byte) error) ([]byte, bool, error) {
	last, done := after, true
	err := d.meta.Update(func(tx store.Tx) error {
		last, done = after, true
		var keys, vals [][]byte
		for _, prefix := range []string{dataPrefix, extentPrefix} {
			if after != nil && bytes.Compare(after, []byte(prefix)) >= 0 && !bytes.HasPrefix(after, []byte(prefix)) {
				continue
			}
			var a []byte
			if bytes.HasPrefix(after, []byte(prefix)) {
				a = after
			}
			err := tx.Scan([]byte(prefix), a, func(k, v []byte) error {
				if len(keys) == n {
					done = false
					return store.ErrStop
				}
				keys = append(keys, append([]byte(nil), k...))
				vals = append(vals, append([]byte(nil), v...))
				return nil
			})
			if err != nil {
				return err
			}
			if !done {
				break
			}
		}
		for i, k := range keys {
			st.Examined++
			if err := fn(tx, k, vals[i]); err != nil {
				return err
			}
			last = k
		}
		return nil
	})
	return last, done, err
}

// ReencryptExtents is RewrapExtents in full mode: content is decrypted
// and written again under a fresh DEK.
func (d *DB) ReencryptExtents(after string, n int, target Target, st *RewrapStats) (string, bool, error) {
	return d.extentBatch(after, n, st, "re-encrypt", func(id string, inline bool, b Binding) error {
		return d.reencryptExtent(id, inline, b, target, st)
	})
}

func (d *DB) reencryptExtent(id string, inline bool, b Binding, target Target, st *RewrapStats) error {
	if inline {
		return d.resealInline(id, func(sealed []byte) ([]byte, error) {
			return d.reseal(KindExtent, nil, b, sealed, target, st)
		})
	}
	or, err := d.objects.Open(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	defer or.Close()
	head := make([]byte, min(or.Size(), maxHeaderLen))
	if _, err := or.ReadAt(head, 0); err != nil && err != io.EOF {
		return err
	}
	ihead := head
	if isLayer(head) {
		lr, err := d.openLayerReader(d.keys, or, or.Size(), b)
		if err != nil {
			return err
		}
		ihead = make([]byte, min(lr.l.plainSize, maxHeaderLen))
		if _, err := lr.ReadAt(ihead, 0); err != nil && err != io.EOF {
			return err
		}
	}
	h, _, err := ParseHeader(ihead)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrAuth, err)
	}
	kek, ok := target(KindExtent, nil, h) // asked before opening, as in reseal
	if !ok {
		st.Skipped++
		return nil
	}
	r, err := d.openExtentAt(d.keys, or, or.Size(), b, id)
	if err != nil {
		return err
	}
	if kek, err = d.keepLayer(head, Inner(kek)); err != nil {
		return err
	}
	ow, err := d.objects.Create(id)
	if err != nil {
		return err
	}
	sw, closeAll, err := newExtentSealer(ow, kek, b)
	if err == nil {
		err = r.WriteRange(sw, 0, r.Size())
	}
	if err == nil {
		err = closeAll()
	}
	if err != nil {
		ow.Abort()
		return err
	}
	if err := ow.Commit(); err != nil {
		return err
	}
	st.Reencrypted++
	st.BytesCopied += r.Size()
	var gone bool // an extent deleted while it was rewritten must not come back
	d.meta.View(func(tx store.Tx) error {
		_, err := tx.Get([]byte(extentPrefix + id))
		gone = errors.Is(err, store.ErrNotFound)
		return nil
	})
	if gone {
		d.objects.Delete(id)
	}
	return nil
}

// newExtentSealer streams a new extent body to w under kek (with its
// infrastructure layer, if kek has one), as NewExtent does.
func newExtentSealer(w io.Writer, kek KEK, b Binding) (io.Writer, func() error, error) {
	var outer *segWriter
	if l, ok := kek.(*layered); ok {
		hdr, aead, err := newObject(l.infra, DefaultSegmentLog)
		if err != nil {
			return nil, nil, err
		}
		if _, err := w.Write(hdr); err != nil {
			return nil, nil, err
		}
		outer = newSegWriter(w, aead, b.outer().aadPrefix(DefaultSegmentLog), DefaultSegmentLog)
		w, kek = outer, l.inner
	}
	hdr, aead, err := newObject(kek, DefaultSegmentLog)
	if err != nil {
		return nil, nil, err
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, nil, err
	}
	seg := newSegWriter(w, aead, b.aadPrefix(DefaultSegmentLog), DefaultSegmentLog)
	return seg, func() error {
		if err := seg.Close(); err != nil {
			return err
		}
		if outer != nil {
			return outer.Close()
		}
		return nil
	}, nil
}
