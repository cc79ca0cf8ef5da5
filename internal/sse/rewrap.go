package sse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/atrest/atrest/internal/store"
)

// Rewrapping: after a KEK change, each object's DEK is unwrapped with the
// KEK its header names and wrapped again under the KEK that should hold it
// now, and only the header is replaced. The header is not covered by the
// segments' tags, so content ciphertext is never decrypted or changed. A
// record's header is replaced inside a transaction; an extent file is
// rewritten as a new file (new header, body copied byte for byte) that
// replaces the old one by rename, so readers see the old or the new file,
// both readable while the old KEK is. Inside an infrastructure layer the
// inner header changes, so the outer layer is sealed afresh.

// Object kinds a Target is asked about.
const (
	KindRecord       = "record"       // a service's record (key given)
	KindRegistration = "registration" // an extent's registration record
	KindExtent       = "extent"       // an extent's content
)

// Target says which KEK should wrap an object's DEK now, given its kind,
// its record key (for records) and its innermost header; ok false leaves
// the object alone.
type Target func(kind string, key []byte, h *Header) (kek KEK, ok bool)

// RewrapStats counts what a rewrap saw.
type RewrapStats struct {
	Examined    int   `json:"examined"`
	Rewrapped   int   `json:"rewrapped"`
	Reencrypted int   `json:"reencrypted,omitempty"`
	Current     int   `json:"current"`
	Skipped     int   `json:"skipped"`
	Unavailable int   `json:"unavailable"`
	BytesCopied int64 `json:"bytesCopied"`
}

// rewrapHeader re-wraps the DEK of a single-layer sealed object whose
// header is at the start of b; it returns the new header and the old
// header's length, or nil when nothing is to change.
func (d *DB) rewrapHeader(kind string, key, b []byte, target Target, st *RewrapStats) ([]byte, int, error) {
	h, n, err := ParseHeader(b)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	kek, ok := target(kind, key, h)
	if !ok {
		st.Skipped++
		return nil, 0, nil
	}
	kek = Inner(kek)
	if kek.Source() == h.Source && kek.Ref() == h.KeyRef && kek.Version() == h.KeyVersion {
		st.Current++
		return nil, 0, nil
	}
	old, err := d.keys.Resolve(h.Source, h.KeyRef, h.KeyVersion)
	if err != nil {
		return nil, 0, err
	}
	dek, err := old.Unwrap(h.WrappedDEK, h.wrapAAD())
	if err != nil {
		return nil, 0, fmt.Errorf("%w: data key does not unwrap", ErrAuth)
	}
	defer dek.Wipe()
	nh := *h
	nh.Source, nh.KeyRef, nh.KeyVersion = kek.Source(), kek.Ref(), kek.Version()
	if nh.WrappedDEK, err = kek.Wrap(dek, nh.wrapAAD()); err != nil {
		return nil, 0, err
	}
	hdr, err := nh.Marshal()
	if err != nil {
		return nil, 0, err
	}
	st.Rewrapped++
	return hdr, n, nil
}

// rewrapSealed re-wraps a whole sealed value held in memory.
func (d *DB) rewrapSealed(kind string, key []byte, b Binding, sealed []byte, target Target, st *RewrapStats) ([]byte, error) {
	if isLayer(sealed) {
		inner, err := openLayer(d.keys, b, sealed)
		if err != nil {
			return nil, err
		}
		ni, err := d.rewrapSealed(kind, key, b, inner, target, st)
		if err != nil || ni == nil {
			return nil, err
		}
		oh, _, err := ParseHeader(sealed)
		if err != nil {
			return nil, err
		}
		infra, err := d.infraKEK(oh.KeyRef)
		if err != nil {
			return nil, err
		}
		return sealLayer(infra, b, ni)
	}
	hdr, n, err := d.rewrapHeader(kind, key, sealed, target, st)
	if err != nil || hdr == nil {
		return nil, err
	}
	return append(hdr, sealed[n:]...), nil
}

func (st *RewrapStats) fail(err error) error {
	if errors.Is(err, ErrKeyUnavailable) {
		st.Unavailable++
		return nil
	}
	return err
}

// RewrapRecords re-wraps up to n records (service records and extent
// registrations) after the raw key `after`, in one transaction. It
// returns the last raw key seen; done is true when none remain.
func (d *DB) RewrapRecords(after []byte, n int, target Target, st *RewrapStats) ([]byte, bool, error) {
	return d.resealRecords(after, n, target, st, "rewrap", d.rewrapSealed)
}

// resealFunc turns one sealed value into its replacement (nil: unchanged).
type resealFunc func(kind string, key []byte, b Binding, sealed []byte, target Target, st *RewrapStats) ([]byte, error)

// resealRecords applies reseal to up to n records after `after`; a record
// that fails is counted (st.fail decides whether the job stops).
func (d *DB) resealRecords(after []byte, n int, target Target, st *RewrapStats, verb string, reseal resealFunc) ([]byte, bool, error) {
	return d.scanRecords(after, n, st, func(tx store.Tx, k, v []byte) error {
		kind, key := KindRecord, k[len(dataPrefix):]
		if bytes.HasPrefix(k, []byte(extentPrefix)) {
			kind, key = KindRegistration, k
		}
		out, err := reseal(kind, key, recBinding(key), v, target, st)
		if err != nil {
			if err := st.fail(err); err != nil {
				return fmt.Errorf("%s record %s: %w", verb, printable(k), err)
			}
			return nil
		}
		if out == nil {
			return nil
		}
		return tx.Put(k, out)
	})
}

// RewrapExtents re-wraps the content of up to n extents whose ids follow
// `after`. It returns the last id seen; done is true when none remain.
func (d *DB) RewrapExtents(after string, n int, target Target, st *RewrapStats) (string, bool, error) {
	return d.extentBatch(after, n, st, "rewrap", func(id string, inline bool, b Binding) error {
		return d.rewrapExtent(id, inline, b, target, st)
	})
}

// extentBatch applies fn to up to n registered extents whose ids follow
// `after`, counting them and recording failures in st.
func (d *DB) extentBatch(after string, n int, st *RewrapStats, verb string, fn func(id string, inline bool, b Binding) error) (string, bool, error) {
	type ext struct {
		id   string
		info extentInfo
	}
	var todo []ext
	done := true
	var a []byte
	if after != "" {
		a = []byte(extentPrefix + after)
	}
	err := d.meta.View(func(tx store.Tx) error {
		return tx.Scan([]byte(extentPrefix), a, func(k, v []byte) error {
			if len(todo) == n {
				done = false
				return store.ErrStop
			}
			plain, _, err := Open(d.keys, recBinding(k), v)
			if err != nil {
				return fmt.Errorf("extent registration %s: %w", k[len(extentPrefix):], err)
			}
			e := ext{id: string(k[len(extentPrefix):])}
			if err := json.Unmarshal(plain, &e.info); err != nil {
				return err
			}
			todo = append(todo, e)
			return nil
		})
	})
	if err != nil {
		return after, false, err
	}
	last := after
	for _, e := range todo {
		st.Examined++
		b := extBinding(e.info.Account, e.info.Container, e.info.Object, e.id)
		if err := fn(e.id, e.info.Inline, b); err != nil {
			if err := st.fail(err); err != nil {
				return last, false, fmt.Errorf("%s extent %s: %w", verb, e.id, err)
			}
		}
		last = e.id
	}
	return last, done, nil
}

func (d *DB) rewrapExtent(id string, inline bool, b Binding, target Target, st *RewrapStats) error {
	if inline {
		return d.resealInline(id, func(sealed []byte) ([]byte, error) {
			return d.rewrapSealed(KindExtent, nil, b, sealed, target, st)
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
	size := or.Size()
	head := make([]byte, min(size, maxHeaderLen))
	if _, err := or.ReadAt(head, 0); err != nil && err != io.EOF {
		return err
	}
	var ow store.ObjectWriter
	if isLayer(head) {
		lr, err := d.openLayerReader(d.keys, or, size, b)
		if err != nil {
			return err
		}
		ihead := make([]byte, min(lr.l.plainSize, maxHeaderLen))
		if _, err := lr.ReadAt(ihead, 0); err != nil && err != io.EOF {
			return err
		}
		hdr, n, err := d.rewrapHeader(KindExtent, nil, ihead, target, st)
		if err != nil || hdr == nil {
			return err
		}
		oh, _, err := ParseHeader(head)
		if err != nil {
			return err
		}
		infra, err := d.infraKEK(oh.KeyRef)
		if err != nil {
			return err
		}
		if ow, err = d.objects.Create(id); err != nil {
			return err
		}
		ohdr, aead, err := newObject(infra, DefaultSegmentLog)
		if err != nil {
			ow.Abort()
			return err
		}
		ow.Write(ohdr)
		sw := newSegWriter(ow, aead, b.outer().aadPrefix(DefaultSegmentLog), DefaultSegmentLog)
		sw.Write(hdr)
		if _, err := io.Copy(sw, io.NewSectionReader(lr, int64(n), lr.l.plainSize-int64(n))); err != nil {
			ow.Abort()
			return err
		}
		if err := sw.Close(); err != nil {
			ow.Abort()
			return err
		}
		st.BytesCopied += size
	} else {
		hdr, n, err := d.rewrapHeader(KindExtent, nil, head, target, st)
		if err != nil || hdr == nil {
			return err
		}
		if ow, err = d.objects.Create(id); err != nil {
			return err
		}
		if _, err := ow.Write(hdr); err != nil {
			ow.Abort()
			return err
		}
		if _, err := io.Copy(ow, io.NewSectionReader(or, int64(n), size-int64(n))); err != nil {
			ow.Abort()
			return err
		}
		st.BytesCopied += size - int64(n)
	}
	if err := ow.Commit(); err != nil {
		return err
	}
	// an extent deleted while it was being rewritten must not come back
	var gone bool
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

// infraKEK is the current infrastructure KEK for ref.
func (d *DB) infraKEK(ref string) (KEK, error) {
	kr, ok := d.keys.(*Keyring)
	if !ok {
		return nil, fmt.Errorf("%w: no keyring for the infrastructure layer", ErrKeyUnavailable)
	}
	return kr.InfraKEK(ref)
}

// resealInline replaces a small extent kept in meta with fn's result, in
// one transaction; an extent deleted meanwhile, or one fn leaves alone
// (nil), stays as it is.
func (d *DB) resealInline(id string, fn func(sealed []byte) ([]byte, error)) error {
	return d.meta.Update(func(tx store.Tx) error {
		v, err := tx.Get([]byte(inlinePrefix + id))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out, err := fn(append([]byte(nil), v...))
		if err != nil || out == nil {
			return err
		}
		return tx.Put([]byte(inlinePrefix+id), out)
	})
}
