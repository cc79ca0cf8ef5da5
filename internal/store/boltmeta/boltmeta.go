// Package boltmeta is the embedded Meta backend, on bbolt.
//
// bbolt is a single-file, copy-on-write B+tree with ordered cursors and
// fully durable transactions, the same engine etcd trusts. Its one writer at
// a time would make every small write pay its own fsync, so Update feeds a
// group-commit loop: whatever transactions arrive while one commit is being
// synced are applied together in the next, and share its fsync.
package boltmeta

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/atrest/atrest/internal/store"
)

var bucket = []byte("kv")

// maxBatch bounds how many updates share one commit.
const maxBatch = 512

// DB is a Meta backed by one bbolt file.
type DB struct {
	db   *bolt.DB
	reqs chan *call
	done chan struct{}
}

type call struct {
	fn  func(store.Tx) error
	err chan error
}

// Open opens or creates the database file at path.
func Open(path string) (*DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        2 * time.Second,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
		// A write that grows the file past the mapping must remap it, and
		// waits for every open read transaction; a reader that meanwhile
		// waits on that writer (a key unwrapped through the Key Vault, whose
		// records live here too) would never finish. Mapping address space
		// well beyond the file (it costs no memory) makes remaps rare.
		InitialMmapSize: initialMmap,
	})
	if err != nil {
		return nil, fmt.Errorf("boltmeta: open %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	d := &DB{db: db, reqs: make(chan *call, maxBatch), done: make(chan struct{})}
	go d.commitLoop()
	return d, nil
}

// initialMmap is the address space mapped at open: 4 GiB on 64-bit
// platforms, 256 MiB elsewhere.
const initialMmap = 1 << (28 + 4*(^uint(0)>>63))

func (d *DB) View(fn func(store.Tx) error) error {
	return d.db.View(func(tx *bolt.Tx) error { return fn(&boltTx{b: tx.Bucket(bucket)}) })
}

func (d *DB) Update(fn func(store.Tx) error) error {
	c := &call{fn: fn, err: make(chan error, 1)}
	select {
	case d.reqs <- c:
	case <-d.done:
		return errors.New("boltmeta: closed")
	}
	return <-c.err
}

// Close stops the commit loop once pending updates are committed.
func (d *DB) Close() error {
	close(d.reqs)
	<-d.done
	return d.db.Close()
}

func (d *DB) commitLoop() {
	defer close(d.done)
	for first := range d.reqs {
		batch := []*call{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case c, ok := <-d.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, c)
			default:
				break drain
			}
		}
		d.commit(batch)
	}
}

// errCallFailed aborts a shared transaction when one member fails.
var errCallFailed = errors.New("boltmeta: member failed")

// commit applies batch in one transaction. A member whose fn fails gets its
// own error and the rest are retried without it, so one caller's failure
// never undoes or blocks another's write.
func (d *DB) commit(batch []*call) {
	for len(batch) > 0 {
		failed, ferr := -1, error(nil)
		err := d.db.Update(func(tx *bolt.Tx) error {
			btx := &boltTx{b: tx.Bucket(bucket), write: true}
			for i, c := range batch {
				if err := run(c.fn, btx); err != nil {
					failed, ferr = i, err
					return errCallFailed
				}
			}
			return nil
		})
		if failed >= 0 {
			batch[failed].err <- ferr
			batch = append(batch[:failed:failed], batch[failed+1:]...)
			continue
		}
		for _, c := range batch {
			c.err <- err
		}
		return
	}
}

func run(fn func(store.Tx) error, tx store.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("boltmeta: transaction panicked: %v", r)
		}
	}()
	return fn(tx)
}

type boltTx struct {
	b     *bolt.Bucket
	write bool
}

func (t *boltTx) Get(key []byte) ([]byte, error) {
	v := t.b.Get(key)
	if v == nil {
		return nil, store.ErrNotFound
	}
	return v, nil
}

func (t *boltTx) Put(key, value []byte) error {
	if !t.write {
		return errors.New("boltmeta: write in read-only transaction")
	}
	if value == nil {
		value = []byte{}
	}
	return t.b.Put(key, value)
}

func (t *boltTx) Delete(key []byte) error {
	if !t.write {
		return errors.New("boltmeta: write in read-only transaction")
	}
	return t.b.Delete(key)
}

func (t *boltTx) Scan(prefix, after []byte, fn func(k, v []byte) error) error {
	c := t.b.Cursor()
	var k, v []byte
	if after != nil && bytes.Compare(after, prefix) >= 0 {
		k, v = c.Seek(after)
		if k != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
	} else {
		k, v = c.Seek(prefix)
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			if err == store.ErrStop {
				return nil
			}
			return err
		}
	}
	return nil
}
