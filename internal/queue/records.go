package queue

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// Record keys. Names and times stay readable so scans are ordered; every
// value (queue metadata, message text and times) is sealed by sse.
//
//	q\0 account \0 queue                          -> queueRec
//	m\0 account \0 queue \0 visible(8) id(16)     -> messageRec
//
// visible is the Unix time in nanoseconds, big-endian, at which the message
// next becomes visible, so a queue's visible messages are the front of its
// range, oldest first.
func queueKey(acct, q string) []byte  { return []byte("q\x00" + acct + "\x00" + q) }
func queuePrefix(acct string) []byte  { return []byte("q\x00" + acct + "\x00") }
func msgPrefix(acct, q string) []byte { return []byte("m\x00" + acct + "\x00" + q + "\x00") }

func msgKey(acct, q string, visible int64, id uuid.UUID) []byte {
	k := binary.BigEndian.AppendUint64(msgPrefix(acct, q), uint64(visible))
	return append(k, id[:]...)
}

// splitMsgKey reads the visibility time and id at the end of a message key.
func splitMsgKey(k []byte) (visible int64, id uuid.UUID) {
	tail := k[len(k)-24:]
	copy(id[:], tail[8:])
	return int64(binary.BigEndian.Uint64(tail)), id
}

type queueRec struct {
	Created  int64                   `json:"c"`
	Metadata map[string]string       `json:"m,omitempty"`
	ACL      []edge.SignedIdentifier `json:"acl,omitempty"`
}

// neverExpires is the expiry of a message put with messagettl=-1; Azure
// reports it as 9999-12-31T23:59:59Z.
const neverExpires = math.MaxInt64

type messageRec struct {
	Text     string `json:"t"`
	Inserted int64  `json:"i"` // Unix nanoseconds
	Expires  int64  `json:"e"` // Unix nanoseconds, or neverExpires
	Dequeues int    `json:"d"`
	Receipt  []byte `json:"r"` // the random half of the current pop receipt
}

func (m *messageRec) expired(now int64) bool { return m.Expires != neverExpires && m.Expires <= now }

// A pop receipt is the message's visibility time (which, with the id in
// the path, names its key) and random bytes that must match the record.
const receiptNonce = 8

func newReceiptNonce() []byte {
	b := make([]byte, receiptNonce)
	rand.Read(b)
	return b
}

func popReceipt(visible int64, nonce []byte) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(visible))
	return base64.StdEncoding.EncodeToString(append(b, nonce...))
}

// parsePopReceipt returns the visibility time and nonce in a receipt.
func parsePopReceipt(s string) (int64, []byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 8+receiptNonce {
		return 0, nil, false
	}
	return int64(binary.BigEndian.Uint64(b)), b[8:], true
}

func getJSON(tx *sse.Tx, key []byte, v any) error {
	b, err := tx.Get(key)
	if err != nil {
		return err
	}
	return decode(key, b, v)
}

func decode(key, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("queue: record %q: %w", key, err)
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

const rfc1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

// httpTime renders Unix nanoseconds as Azure's RFC 1123 times.
func httpTime(ns int64) string {
	if ns == neverExpires {
		return "Fri, 31 Dec 9999 23:59:59 GMT"
	}
	return time.Unix(0, ns).UTC().Format(rfc1123)
}
