package blob

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/atrest/atrest/internal/edge"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/atrest/atrest/internal/sse"
)

// Record keys. Names stay readable so scans can be ordered; every value is
// sealed by sse. A blob's key ends with its snapshot time, or baseSuffix for
// the live blob, so snapshots sort just before the blob they belong to.
const baseSuffix = "~"

func containerKey(acct, c string) []byte { return []byte("c\x00" + acct + "\x00" + c) }
func containerPrefix(acct string) []byte { return []byte("c\x00" + acct + "\x00") }
func blobPrefix(acct, c string) []byte   { return []byte("b\x00" + acct + "\x00" + c + "\x00") }
func blobKey(acct, c, b, snap string) []byte {
	if snap == "" {
		snap = baseSuffix
	}
	return []byte("b\x00" + acct + "\x00" + c + "\x00" + b + "\x00" + snap)
}

// blobVersionsPrefix covers a blob and all its snapshots.
func blobVersionsPrefix(acct, c, b string) []byte {
	return []byte("b\x00" + acct + "\x00" + c + "\x00" + b + "\x00")
}
func blockPrefix(acct, c, b string) []byte {
	return []byte("u\x00" + acct + "\x00" + c + "\x00" + b + "\x00")
}
func blockKey(acct, c, b, id string) []byte { return append(blockPrefix(acct, c, b), id...) }
func uncommittedPrefix(acct, c string) []byte {
	return []byte("u\x00" + acct + "\x00" + c + "\x00")
}
func servicePropsKey(acct string) []byte { return []byte("s\x00" + acct) }

// splitBlobKey returns the blob name and snapshot of a key under prefix.
func splitBlobKey(prefix, key []byte) (name, snap string) {
	rest := string(key[len(prefix):])
	i := strings.LastIndexByte(rest, 0)
	if i < 0 {
		return rest, ""
	}
	name, snap = rest[:i], rest[i+1:]
	if snap == baseSuffix {
		snap = ""
	}
	return name, snap
}

type leaseRec struct {
	ID       string    `json:"id,omitempty"`
	Duration int       `json:"d,omitempty"` // seconds, -1 for infinite
	Expires  time.Time `json:"x,omitzero"`
	Broken   bool      `json:"b,omitempty"` // explicitly broken
	BreakAt  time.Time `json:"ba,omitzero"` // breaking until then
}

type containerRec struct {
	Created      time.Time               `json:"created"`
	Modified     time.Time               `json:"modified"`
	ETag         string                  `json:"etag"`
	Metadata     map[string]string       `json:"meta,omitempty"`
	Public       string                  `json:"public,omitempty"`
	ACL          []edge.SignedIdentifier `json:"acl,omitempty"`
	Lease        leaseRec                `json:"lease"`
	DefaultScope string                  `json:"scope,omitempty"`
	DenyOverride bool                    `json:"deny,omitempty"`
	// Deleting marks a container whose blobs are being removed: it is gone
	// for every operation, and its name is not free again until the purge
	// finishes (or resumes at the next start after a crash).
	Deleting bool `json:"deleting,omitempty"`
}

// block is a committed block of a block or append blob.
type block struct {
	ID  string        `json:"b"` // base64 block id as the client sent it
	Ext sse.ExtentRef `json:"e"`
}

// page is a run of page-blob bytes [Start, End) held at Off in an extent.
type page struct {
	Start int64         `json:"s"`
	End   int64         `json:"t"`
	Ext   sse.ExtentRef `json:"e"`
	Off   int64         `json:"o"`
}

type blobRec struct {
	Type        string            `json:"type"`
	Created     time.Time         `json:"created"`
	Modified    time.Time         `json:"modified"`
	ETag        string            `json:"etag"`
	Size        int64             `json:"size"`
	Headers     contentHeaders    `json:"h"`
	Metadata    map[string]string `json:"meta,omitempty"`
	Blocks      []block           `json:"blocks,omitempty"`
	Pages       []page            `json:"pages,omitempty"`
	SeqNum      int64             `json:"seq,omitempty"`
	Lease       leaseRec          `json:"lease"`
	Tier        string            `json:"tier,omitempty"`
	TierChanged time.Time         `json:"tierChanged,omitzero"`
	Copy        *copyInfo         `json:"copy,omitempty"`
	Sealed      bool              `json:"sealed,omitempty"`
	// CPK is the base64 SHA-256 of the customer-provided key the content
	// and metadata are sealed under ("" for the account's key); SealedMeta
	// then holds the metadata.
	CPK        string `json:"cpk,omitempty"`
	SealedMeta []byte `json:"smeta,omitempty"`
	// Scope is the encryption scope content and metadata are sealed under
	// ("" for the account's key).
	Scope string `json:"scope,omitempty"`
}

type contentHeaders struct {
	Type        string `json:"t,omitempty"`
	Encoding    string `json:"e,omitempty"`
	Language    string `json:"l,omitempty"`
	Disposition string `json:"d,omitempty"`
	Cache       string `json:"c,omitempty"`
	MD5         []byte `json:"m,omitempty"`
}

type copyInfo struct {
	ID        string    `json:"id"`
	Source    string    `json:"src"`
	Status    string    `json:"status"`
	Progress  string    `json:"progress"`
	Completed time.Time `json:"done"`
}

type uncommittedRec struct {
	Ext   sse.ExtentRef `json:"e"`
	CPK   string        `json:"cpk,omitempty"`
	Scope string        `json:"scope,omitempty"`
}

// extents lists the extents a blob holds, for reference counting.
func (b *blobRec) extents() []string {
	var ids []string
	for _, bl := range b.Blocks {
		ids = append(ids, bl.Ext.ID)
	}
	for _, p := range b.Pages {
		ids = append(ids, p.Ext.ID)
	}
	return ids
}

func getJSON(tx *sse.Tx, key []byte, v any) error {
	b, err := tx.Get(key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("blob: record %q: %w", key, err)
	}
	return nil
}

func putJSON(tx *sse.Tx, key []byte, v any, kek sse.KEK) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(key, b, kek)
}

// mapStoreErr turns storage failures into protocol errors.
func mapStoreErr(err error, notFound error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sse.ErrNotFound):
		return notFound
	case errors.Is(err, sse.ErrKeyUnavailable):
		return edge.KeyUnavailable(sse.UnavailableCode(err))
	case errors.Is(err, sse.ErrAuth):
		return errDataUnreadable
	}
	return err
}

var etagSeq atomic.Uint64

// newETag makes a fresh opaque ETag in Azure's "0x8D..." style.
func newETag(t time.Time) string {
	return `"0x` + strings.ToUpper(strconv.FormatUint(uint64(t.UnixNano())/100+0x8D000000000000+etagSeq.Add(1)%100, 16)) + `"`
}

// now is the service clock, truncated as Azure reports times.
func now() time.Time { return time.Now().UTC().Truncate(100 * time.Nanosecond) }

const (
	rfc1123   = "Mon, 02 Jan 2006 15:04:05 GMT"
	snapshotT = "2006-01-02T15:04:05.0000000Z"
)

func httpTime(t time.Time) string { return t.UTC().Format(rfc1123) }
