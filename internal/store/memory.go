package store

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// MemMeta is an in-memory Meta for tests.
type MemMeta struct {
	mu sync.RWMutex
	m  map[string][]byte
}

// NewMemMeta returns an empty in-memory Meta.
func NewMemMeta() *MemMeta { return &MemMeta{m: map[string][]byte{}} }

func (s *MemMeta) View(fn func(Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(&memTx{base: s.m})
}

func (s *MemMeta) Update(fn func(Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{base: s.m, writes: map[string][]byte{}, write: true}
	if err := fn(tx); err != nil {
		return err
	}
	for k, v := range tx.writes {
		if v == nil {
			delete(s.m, k)
		} else {
			s.m[k] = v
		}
	}
	return nil
}

func (s *MemMeta) Close() error { return nil }

type memTx struct {
	base   map[string][]byte
	writes map[string][]byte // nil value marks a delete
	write  bool
}

func (t *memTx) Get(key []byte) ([]byte, error) {
	if v, ok := t.writes[string(key)]; ok {
		if v == nil {
			return nil, ErrNotFound
		}
		return v, nil
	}
	if v, ok := t.base[string(key)]; ok {
		return v, nil
	}
	return nil, ErrNotFound
}

func (t *memTx) Put(key, value []byte) error {
	if !t.write {
		return fmt.Errorf("store: write in read-only transaction")
	}
	if len(key) == 0 {
		return fmt.Errorf("store: empty key")
	}
	t.writes[string(key)] = append([]byte{}, value...)
	return nil
}

func (t *memTx) Delete(key []byte) error {
	if !t.write {
		return fmt.Errorf("store: write in read-only transaction")
	}
	t.writes[string(key)] = nil
	return nil
}

func (t *memTx) Scan(prefix, after []byte, fn func(k, v []byte) error) error {
	keys := map[string]bool{}
	for k := range t.base {
		if strings.HasPrefix(k, string(prefix)) {
			keys[k] = true
		}
	}
	for k := range t.writes {
		if strings.HasPrefix(k, string(prefix)) {
			keys[k] = true
		}
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		if after == nil || bytes.Compare([]byte(k), after) > 0 {
			sorted = append(sorted, k)
		}
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		v, err := t.Get([]byte(k))
		if err == ErrNotFound {
			continue
		}
		if err := fn([]byte(k), v); err != nil {
			if err == ErrStop {
				return nil
			}
			return err
		}
	}
	return nil
}

// MemObjects is an in-memory Objects for tests.
type MemObjects struct {
	mu sync.RWMutex
	m  map[string][]byte
}

// NewMemObjects returns an empty in-memory Objects.
func NewMemObjects() *MemObjects { return &MemObjects{m: map[string][]byte{}} }

func (s *MemObjects) Create(id string) (ObjectWriter, error) {
	return &memWriter{s: s, id: id}, nil
}

func (s *MemObjects) Open(id string) (ObjectReader, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.m[id]
	if !ok {
		return nil, ErrNotFound
	}
	return memReader{bytes.NewReader(b)}, nil
}

func (s *MemObjects) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

func (s *MemObjects) List(fn func(id string) error) error {
	s.mu.RLock()
	ids := make([]string, 0, len(s.m))
	for id := range s.m {
		ids = append(ids, id)
	}
	s.mu.RUnlock()
	sort.Strings(ids)
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

// Tamper lets tests rewrite a stored extent in place.
func (s *MemObjects) Tamper(id string, fn func([]byte) []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = fn(s.m[id])
}

type memWriter struct {
	s    *MemObjects
	id   string
	buf  bytes.Buffer
	done bool
}

func (w *memWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }
func (w *memWriter) Commit() error {
	if w.done {
		return fmt.Errorf("store: extent already finished")
	}
	w.done = true
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.s.m[w.id] = w.buf.Bytes()
	return nil
}
func (w *memWriter) Abort() error { w.done = true; return nil }

type memReader struct{ *bytes.Reader }

func (memReader) Close() error { return nil }
