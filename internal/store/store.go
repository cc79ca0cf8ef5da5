// Package store defines the two narrow storage contracts atrest runs on, and
// in-memory fakes of both.
//
// Meta is an ordered key-value store whose transactions are closures, so
// commit and rollback are written once (as bbolt does). Objects is a store of
// immutable extents: written once, committed durably, read at offsets,
// deleted whole. Both are kept small on purpose so that PostgreSQL and
// S3-compatible backends can drop in later; storetest holds the conformance
// suite every backend must pass.
//
// Nothing outside package sse may hold these interfaces: services receive
// stores already wrapped by sse, so every byte written is ciphertext.
package store

import (
	"errors"
	"io"
)

// ErrNotFound is returned for a missing key or object.
var ErrNotFound = errors.New("store: not found")

// ErrStop ends a Scan early without error.
var ErrStop = errors.New("store: stop scan")

// Meta is an ordered, transactional key-value store.
type Meta interface {
	// View runs fn in a read-only snapshot.
	View(fn func(Tx) error) error
	// Update runs fn in a read-write transaction that is durable when Update
	// returns nil. Concurrent updates may share one commit (and one fsync);
	// fn may therefore run more than once and must not have side effects
	// outside the transaction.
	Update(fn func(Tx) error) error
	Close() error
}

// Tx is one transaction. Slices it returns are valid only until fn returns.
type Tx interface {
	// Get returns the value of key or ErrNotFound.
	Get(key []byte) ([]byte, error)
	Put(key, value []byte) error
	Delete(key []byte) error
	// Scan calls fn for each key with the prefix, in ascending byte order,
	// starting strictly after `after` when it is non-nil. fn may return
	// ErrStop to end the scan.
	Scan(prefix, after []byte, fn func(key, value []byte) error) error
}

// Objects stores immutable extents by id.
type Objects interface {
	// Create starts a new extent. Nothing is visible until Commit.
	Create(id string) (ObjectWriter, error)
	Open(id string) (ObjectReader, error)
	// Delete removes an extent; deleting a missing one is not an error.
	Delete(id string) error
	// List calls fn with the id of every committed extent.
	List(fn func(id string) error) error
}

// ObjectWriter receives an extent's bytes.
type ObjectWriter interface {
	io.Writer
	// Commit makes the extent durable and visible under its id.
	Commit() error
	// Abort discards the extent; it is safe after Commit (a no-op then).
	Abort() error
}

// ObjectReader reads a committed extent.
type ObjectReader interface {
	io.ReaderAt
	io.Closer
	Size() int64
}
