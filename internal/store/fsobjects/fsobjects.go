// Package fsobjects is the embedded Objects backend: one file per extent.
//
// An extent is written to a temporary file, synced, renamed into place and
// its directory synced, so a committed extent survives a crash and an
// uncommitted one never appears under its id.
package fsobjects

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/atrest/atrest/internal/store"
)

// Dir stores extents under a directory.
type Dir struct{ root string }

// Open prepares the directory tree under root, removing temporary files
// left by a crash.
func Open(root string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("fsobjects: %w", err)
	}
	tmp, _ := os.ReadDir(filepath.Join(root, "tmp"))
	for _, e := range tmp {
		os.Remove(filepath.Join(root, "tmp", e.Name()))
	}
	for i := 0; i < 256; i++ {
		if err := os.MkdirAll(filepath.Join(root, fmt.Sprintf("%02x", i)), 0o700); err != nil {
			return nil, fmt.Errorf("fsobjects: %w", err)
		}
	}
	return &Dir{root: root}, nil
}

func validID(id string) bool {
	if len(id) < 2 || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// shard spreads extents over 256 directories by a hash-like prefix: ids are
// random hex, so their first two characters already are one.
func (d *Dir) path(id string) string {
	sh := id[:2]
	if _, err := hex.DecodeString(sh); err != nil {
		sh = "00"
	}
	return filepath.Join(d.root, strings.ToLower(sh), id)
}

func (d *Dir) Create(id string) (store.ObjectWriter, error) {
	if !validID(id) {
		return nil, fmt.Errorf("fsobjects: invalid id %q", id)
	}
	var r [8]byte
	rand.Read(r[:])
	tmp := filepath.Join(d.root, "tmp", id+"."+hex.EncodeToString(r[:]))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("fsobjects: %w", err)
	}
	return &writer{f: f, tmp: tmp, final: d.path(id)}, nil
}

func (d *Dir) Open(id string) (store.ObjectReader, error) {
	if !validID(id) {
		return nil, store.ErrNotFound
	}
	f, err := os.Open(d.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("fsobjects: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("fsobjects: %w", err)
	}
	return &reader{File: f, size: st.Size()}, nil
}

func (d *Dir) Delete(id string) error {
	if !validID(id) {
		return nil
	}
	err := os.Remove(d.path(id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsobjects: %w", err)
	}
	return nil
}

func (d *Dir) List(fn func(id string) error) error {
	for i := 0; i < 256; i++ {
		ents, err := os.ReadDir(filepath.Join(d.root, fmt.Sprintf("%02x", i)))
		if err != nil {
			return fmt.Errorf("fsobjects: %w", err)
		}
		for _, e := range ents {
			if err := fn(e.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}

// Path is the file holding an extent, for tools that inspect the disk.
func (d *Dir) Path(id string) string { return d.path(id) }

type writer struct {
	f          *os.File
	tmp, final string
	done       bool
}

func (w *writer) Write(p []byte) (int, error) { return w.f.Write(p) }

func (w *writer) Commit() error {
	if w.done {
		return errors.New("fsobjects: extent already finished")
	}
	w.done = true
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		os.Remove(w.tmp)
		return fmt.Errorf("fsobjects: sync: %w", err)
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("fsobjects: close: %w", err)
	}
	if err := os.Rename(w.tmp, w.final); err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("fsobjects: %w", err)
	}
	return syncDir(filepath.Dir(w.final))
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.tmp)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsobjects: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsobjects: sync dir: %w", err)
	}
	return nil
}

type reader struct {
	*os.File
	size int64
}

func (r *reader) Size() int64 { return r.size }
