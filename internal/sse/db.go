package sse

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/atrest/atrest/internal/store"
)

// ErrNotFound is returned by Tx.Get for a missing key.
var ErrNotFound = store.ErrNotFound

// ErrStop ends a Scan early.
var ErrStop = store.ErrStop

// Namespaces of the raw meta store. Service keys live under dataPrefix with
// sealed values; the rest is this package's bookkeeping.
const (
	dataPrefix   = "d\x00"
	extentPrefix = "e\x00" // sealed extent registration: binding and size
	refPrefix    = "n\x00" // reference count of an extent (a plain number)
	inlinePrefix = "i\x00" // sealed bytes of small extents kept in meta
)

// DB is the encrypted view of atrest's stores handed to services.
type DB struct {
	meta      store.Meta
	objects   store.Objects
	keys      Resolver
	log       *slog.Logger
	inlineMax int64
}

// Options tune a DB.
type Options struct {
	// InlineMax is the largest extent kept inside the metadata store, where
	// it shares the group commit instead of paying its own fsync.
	InlineMax int64
	Log       *slog.Logger
}

// NewDB wraps raw stores so that everything written through it is sealed.
func NewDB(meta store.Meta, objects store.Objects, keys Resolver, opt Options) *DB {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	return &DB{meta: meta, objects: objects, keys: keys, log: opt.Log, inlineMax: opt.InlineMax}
}

func recBinding(key []byte) Binding { return Binding{Kind: "rec", Object: string(key)} }

// View runs fn in a read-only snapshot.
func (d *DB) View(fn func(*Tx) error) error {
	return d.meta.View(func(raw store.Tx) error { return fn(&Tx{db: d, raw: raw}) })
}

// Update runs fn in a durable transaction; see store.Meta.Update: fn may run
// more than once. Extents whose last reference went away are deleted once
// the transaction has committed.
func (d *DB) Update(fn func(*Tx) error) error {
	var tx *Tx
	err := d.meta.Update(func(raw store.Tx) error {
		tx = &Tx{db: d, raw: raw, write: true}
		return fn(tx)
	})
	if err == nil && tx != nil {
		for _, id := range tx.garbage {
			if err := d.objects.Delete(id); err != nil {
				d.log.Warn("extent left behind after its last reference was dropped", "extent", id, "err", err)
			}
		}
	}
	return err
}

// Tx is a transaction over sealed records.
type Tx struct {
	db      *DB
	raw     store.Tx
	write   bool
	garbage []string
}

func dataKey(key []byte) []byte { return append([]byte(dataPrefix), key...) }

// Get opens the record at key. It returns ErrNotFound, ErrAuth or
// ErrKeyUnavailable on failure.
func (t *Tx) Get(key []byte) ([]byte, error) {
	v, err := t.raw.Get(dataKey(key))
	if err != nil {
		return nil, err
	}
	return t.db.openRecord(key, v)
}

// Has reports whether a record exists, without opening it.
func (t *Tx) Has(key []byte) bool {
	_, err := t.raw.Get(dataKey(key))
	return err == nil
}

func (d *DB) openRecord(key, sealed []byte) ([]byte, error) {
	plain, _, err := Open(d.keys, recBinding(key), sealed)
	if err != nil {
		d.log.Error("stored record failed to open", "record", printable(key), "err", err)
		if errors.Is(err, ErrKeyUnavailable) {
			return nil, unavailable(err)
		}
		return nil, ErrAuth
	}
	return plain, nil
}

// Put seals value under kek and stores it at key.
func (t *Tx) Put(key, value []byte, kek KEK) error {
	sealed, err := Seal(kek, recBinding(key), value)
	if err != nil {
		return err
	}
	return t.raw.Put(dataKey(key), sealed)
}

// Delete removes the record at key.
func (t *Tx) Delete(key []byte) error { return t.raw.Delete(dataKey(key)) }

// Scan opens each record under prefix in key order, after `after` if set.
func (t *Tx) Scan(prefix, after []byte, fn func(key, value []byte) error) error {
	var a []byte
	if after != nil {
		a = dataKey(after)
	}
	return t.raw.Scan(dataKey(prefix), a, func(k, v []byte) error {
		key := k[len(dataPrefix):]
		plain, err := t.db.openRecord(key, v)
		if err != nil {
			return err
		}
		return fn(key, plain)
	})
}

// ScanKeys lists keys under prefix without opening their records.
func (t *Tx) ScanKeys(prefix, after []byte, fn func(key []byte) error) error {
	var a []byte
	if after != nil {
		a = dataKey(after)
	}
	return t.raw.Scan(dataKey(prefix), a, func(k, _ []byte) error { return fn(k[len(dataPrefix):]) })
}

// extentInfo is the sealed registration of an extent, which lets verify
// authenticate an extent without knowing which service record points at it.
type extentInfo struct {
	Account   string `json:"a"`
	Container string `json:"c"`
	Object    string `json:"o"`
	Size      int64  `json:"s"`
	Inline    bool   `json:"i,omitempty"`
}

// Adopt records a freshly written extent in this transaction (with no
// references yet) and, for a small one, stores its sealed bytes. kek seals
// the registration (the account's own key: an extent under a customer key
// must still be accounted for without that key).
func (t *Tx) Adopt(e *Extent, kek KEK) error {
	info, _ := json.Marshal(extentInfo{Account: e.bind.Account, Container: e.bind.Container, Object: e.bind.Object, Size: e.Size, Inline: e.Inline})
	k := []byte(extentPrefix + e.ID)
	sealed, err := Seal(kek, recBinding(k), info)
	if err != nil {
		return err
	}
	if err := t.raw.Put(k, sealed); err != nil {
		return err
	}
	if e.Inline {
		return t.raw.Put([]byte(inlinePrefix+e.ID), e.sealed)
	}
	return nil
}

// Retarget moves one record's references from the extents in old to those in
// new (each a set; duplicates count once). An extent left with no references
// is deleted when the transaction commits.
func (t *Tx) Retarget(old, new []string) error {
	oldSet, newSet := set(old), set(new)
	for id := range newSet {
		if !oldSet[id] {
			if err := t.addRef(id, 1); err != nil {
				return err
			}
		}
	}
	for id := range oldSet {
		if !newSet[id] {
			if err := t.addRef(id, -1); err != nil {
				return err
			}
		}
	}
	return nil
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func (t *Tx) addRef(id string, delta int64) error {
	rk := []byte(refPrefix + id)
	var n int64
	if v, err := t.raw.Get(rk); err == nil {
		n, _ = binary.Varint(v)
	} else if _, err := t.raw.Get([]byte(extentPrefix + id)); err != nil {
		return fmt.Errorf("sse: reference to unknown extent %s", id)
	}
	n += delta
	if n > 0 {
		return t.raw.Put(rk, binary.AppendVarint(nil, n))
	}
	inline := t.isInline(id)
	if inline {
		t.raw.Delete([]byte(inlinePrefix + id))
	}
	t.raw.Delete(rk)
	t.raw.Delete([]byte(extentPrefix + id))
	if !inline {
		t.garbage = append(t.garbage, id)
	}
	return nil
}

func (t *Tx) isInline(id string) bool {
	_, err := t.raw.Get([]byte(inlinePrefix + id))
	return err == nil
}

func newExtentID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func printable(key []byte) string {
	return string(bytes.ReplaceAll(key, []byte{0}, []byte{'/'}))
}
