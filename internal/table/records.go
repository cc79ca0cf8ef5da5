package table

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/odata"
	"github.com/atrest/atrest/internal/sse"
)

// Record keys. Table names (lower-cased: Azure's are case-insensitive) and
// entity keys stay readable so scans are ordered; every value is sealed.
//
//	t\0 account \0 table                     -> tableRec
//	x\0 account \0 table                     -> (empty) the table is being deleted
//	r\0 account \0 table \0 PK \0 RK \0      -> an encoded Entity
//
// Azure forbids control characters in keys, so \0 cannot occur inside PK or
// RK. Being the least byte, the \0 after each key keeps records in (PK, RK)
// order, and the final one lets a scan start exactly at a row key: every
// record of partition p with RK >= r sorts after "...p\0r".
func tableKey(acct, lower string) []byte    { return []byte("t\x00" + acct + "\x00" + lower) }
func tablePrefix(acct string) []byte        { return []byte("t\x00" + acct + "\x00") }
func deletingKey(acct, lower string) []byte { return []byte("x\x00" + acct + "\x00" + lower) }
func rowsPrefix(acct, lower string) []byte  { return []byte("r\x00" + acct + "\x00" + lower + "\x00") }
func partitionPrefix(acct, lower, pk string) []byte {
	return []byte("r\x00" + acct + "\x00" + lower + "\x00" + pk + "\x00")
}
func rowKey(acct, lower, pk, rk string) []byte {
	return []byte("r\x00" + acct + "\x00" + lower + "\x00" + pk + "\x00" + rk + "\x00")
}

// splitRowKey reads PK and RK from a key under rowsPrefix.
func splitRowKey(prefixLen int, k []byte) (pk, rk string, ok bool) {
	rest := string(k[prefixLen:])
	pk, rest, ok = strings.Cut(rest, "\x00")
	if !ok || !strings.HasSuffix(rest, "\x00") {
		return "", "", false
	}
	return pk, rest[:len(rest)-1], true
}

type tableRec struct {
	Name    string                  `json:"n"` // as created, in its original case
	Created int64                   `json:"c"`
	ACL     []edge.SignedIdentifier `json:"acl,omitempty"`
}

func getTable(tx *sse.Tx, key []byte) (tableRec, error) {
	var rec tableRec
	b, err := tx.Get(key)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("table: record %q: %w", key, err)
	}
	return rec, nil
}

// Prop is one user property.
type Prop struct {
	Name  string
	Value odata.Value
}

// Entity is a stored entity: its keys, its Timestamp in ticks, and its
// properties in the order they were first written.
type Entity struct {
	PartitionKey, RowKey string
	Timestamp            int64
	Props                []Prop
}

// Property implements odata.Entity, system properties included.
func (e *Entity) Property(name string) (odata.Value, bool) {
	switch name {
	case "PartitionKey":
		return odata.StringValue(e.PartitionKey), true
	case "RowKey":
		return odata.StringValue(e.RowKey), true
	case "Timestamp":
		return odata.Value{Type: odata.DateTime, Int: e.Timestamp}, true
	}
	for _, p := range e.Props {
		if p.Name == name {
			return p.Value, true
		}
	}
	return odata.Value{}, false
}

// entityFormat is the first byte of an encoded entity.
const entityFormat = 1

// encodeEntity writes the sealed part of an entity: Timestamp and
// properties. The keys live in the record key.
func encodeEntity(e *Entity) []byte {
	b := make([]byte, 0, 64)
	b = append(b, entityFormat)
	b = binary.AppendVarint(b, e.Timestamp)
	b = binary.AppendUvarint(b, uint64(len(e.Props)))
	for _, p := range e.Props {
		b = appendBytes(b, p.Name)
		v := p.Value
		b = append(b, byte(v.Type))
		switch v.Type {
		case odata.String, odata.Guid, odata.Binary:
			b = appendBytes(b, v.Str)
		case odata.Double:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Num))
		default:
			b = binary.AppendVarint(b, v.Int)
		}
	}
	return b
}

func appendBytes(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errCorrupt = errors.New("table: malformed entity record")

// decodeEntity reads what encodeEntity wrote.
func decodeEntity(b []byte, e *Entity) error {
	if len(b) == 0 || b[0] != entityFormat {
		return errCorrupt
	}
	r := reader{b: b[1:]}
	e.Timestamp = r.varint()
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		return errCorrupt
	}
	e.Props = make([]Prop, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		p := Prop{Name: r.bytes()}
		p.Value.Type = odata.Type(r.byte())
		switch p.Value.Type {
		case odata.String, odata.Guid, odata.Binary:
			p.Value.Str = r.bytes()
		case odata.Double:
			p.Value.Num = math.Float64frombits(r.uint64())
		case odata.Boolean, odata.Int32, odata.Int64, odata.DateTime:
			p.Value.Int = r.varint()
		default:
			return errCorrupt
		}
		e.Props = append(e.Props, p)
	}
	if r.err != nil || len(r.b) != 0 {
		return errCorrupt
	}
	return nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uint64() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) bytes() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) fail() { r.err, r.b = errCorrupt, nil }

// lastTick makes every write's Timestamp, and so its ETag, unique in this
// process even when two writes land in the same 100 ns.
var lastTick atomic.Int64

func nextTick() int64 {
	now := odata.Ticks(time.Now())
	for {
		last := lastTick.Load()
		t := max(now, last+1)
		if lastTick.CompareAndSwap(last, t) {
			return t
		}
	}
}

func nowString() string { return odata.FormatTimestamp(odata.Ticks(time.Now())) }

// etag is Azure's weak ETag for an entity written at ticks.
func etag(ticks int64) string {
	ts := strings.ReplaceAll(odata.FormatTimestamp(ticks), ":", "%3A")
	return `W/"datetime'` + ts + `'"`
}

// Continuation tokens are opaque to clients; these are base64 of the key
// after which the next page starts, tagged with a format number.
func encodeToken(s string) string { return "1!" + base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeToken(t string) (string, bool) {
	rest, ok := strings.CutPrefix(t, "1!")
	if !ok {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	return string(b), err == nil
}
