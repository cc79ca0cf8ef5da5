package sse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/atrest/atrest/internal/store"
)

// Report is what Verify found.
type Report struct {
	Records     int            // sealed metadata records that authenticated
	Extents     int            // content extents that authenticated
	Bytes       int64          // plaintext bytes authenticated in extents
	ByKey       map[string]int // objects per "source key-ref version"
	Failed      []string       // objects that did not authenticate
	Unreadable  []string       // objects whose key is gone for good (purged)
	Unavailable []string       // objects whose key is out of reach now (disabled, deleted, no access)
	Orphans     []string       // extent files no record knows (left by a crash)
	// CustomerKeyed counts extents under customer-provided keys: their
	// headers parse, but without the key their content cannot be checked.
	CustomerKeyed int
}

// OK reports whether every object authenticated.
func (r *Report) OK() bool {
	return len(r.Failed) == 0 && len(r.Unreadable) == 0 && len(r.Unavailable) == 0
}

func (r *Report) count(h *Header) {
	r.ByKey[fmt.Sprintf("%s %s v%s", h.Source, h.KeyRef, h.KeyVersion)]++
}

func (r *Report) fail(name string, err error) {
	var ke *KeyError
	switch {
	case errors.As(err, &ke) && !ke.Permanent:
		r.Unavailable = append(r.Unavailable, name)
	case errors.Is(err, ErrKeyUnavailable):
		r.Unreadable = append(r.Unreadable, name)
	default:
		r.Failed = append(r.Failed, name)
	}
}

// Verify authenticates every sealed record and every extent, reading all of
// their bytes, and reports counts by key and anything that failed.
func (d *DB) Verify() (*Report, error) {
	rep := &Report{ByKey: map[string]int{}}
	type ext struct {
		id   string
		info extentInfo
	}
	var exts []ext
	known := map[string]bool{}
	err := d.meta.View(func(tx store.Tx) error {
		for _, prefix := range []string{dataPrefix, extentPrefix} {
			err := tx.Scan([]byte(prefix), nil, func(k, v []byte) error {
				key := k
				if prefix == dataPrefix {
					key = k[len(dataPrefix):]
				}
				plain, h, err := Open(d.keys, recBinding(key), v)
				if err != nil {
					rep.fail("record "+printable(key), err)
					return nil
				}
				rep.Records++
				rep.count(h)
				if prefix == extentPrefix {
					id := string(k[len(extentPrefix):])
					var info extentInfo
					if json.Unmarshal(plain, &info) != nil {
						rep.fail("extent "+id, ErrAuth)
						return nil
					}
					exts = append(exts, ext{id, info})
					known[id] = true
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, e := range exts {
		name := fmt.Sprintf("extent %s of %s/%s/%s", e.id, e.info.Account, e.info.Container, e.info.Object)
		r, err := d.OpenExtent(ExtentRef{ID: e.id, Size: e.info.Size, Inline: e.info.Inline}, e.info.Account, e.info.Container, e.info.Object)
		if errors.Is(err, ErrKeyUnavailable) && d.customerKeyed(e.id, e.info.Inline, extBinding(e.info.Account, e.info.Container, e.info.Object, e.id)) {
			rep.CustomerKeyed++
			rep.ByKey["customer-provided (not checkable without the key)"]++
			continue
		}
		if err != nil {
			rep.fail(name, err)
			continue
		}
		err = r.WriteRange(io.Discard, 0, r.Size())
		r.Close()
		if err != nil {
			rep.fail(name, err)
			continue
		}
		rep.Extents++
		rep.Bytes += e.info.Size
		rep.count(r.Header)
	}
	err = d.objects.List(func(id string) error {
		if !known[id] {
			rep.Orphans = append(rep.Orphans, id)
		}
		return nil
	})
	sort.Strings(rep.Failed)
	return rep, err
}

// Sweep deletes extent files that no record knows: the leftovers of writes
// cut off by a crash before their transaction committed. Run it before
// serving, never concurrently with writes.
func (d *DB) Sweep() (int, error) {
	known := map[string]bool{}
	err := d.meta.View(func(tx store.Tx) error {
		return tx.Scan([]byte(extentPrefix), nil, func(k, _ []byte) error {
			known[string(k[len(extentPrefix):])] = true
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	var orphans []string
	if err := d.objects.List(func(id string) error {
		if !known[id] && !strings.HasPrefix(id, "tmp") {
			orphans = append(orphans, id)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, id := range orphans {
		d.objects.Delete(id)
	}
	return len(orphans), nil
}

// customerKeyed reports whether an extent's header names a customer key
// (looking inside an infrastructure layer, which the keyring opens).
func (d *DB) customerKeyed(id string, inline bool, b Binding) bool {
	var ra io.ReaderAt
	var size int64
	if inline {
		var v []byte
		d.meta.View(func(tx store.Tx) error {
			b, err := tx.Get([]byte(inlinePrefix + id))
			v = append([]byte(nil), b...)
			return err
		})
		ra, size = bytes.NewReader(v), int64(len(v))
	} else if r, err := d.objects.Open(id); err == nil {
		defer r.Close()
		ra, size = r, r.Size()
	} else {
		return false
	}
	head := make([]byte, min(size, maxHeaderLen))
	ra.ReadAt(head, 0)
	if isLayer(head) {
		lr, err := d.openLayerReader(d.keys, ra, size, b)
		if err != nil {
			return false
		}
		head = make([]byte, min(lr.l.plainSize, maxHeaderLen))
		if _, err := lr.ReadAt(head, 0); err != nil && err != io.EOF {
			return false
		}
	}
	h, _, err := ParseHeader(head)
	return err == nil && h.Source == SourceCustomer
}
