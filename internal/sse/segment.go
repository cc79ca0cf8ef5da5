package sse

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

const tagSize = 16

// Binding is the place an object belongs to. Every segment's associated data
// includes it, so bytes moved to another place fail to authenticate.
type Binding struct {
	Kind      string // "rec" for metadata records, "ext" for content extents
	Account   string
	Container string
	Object    string
	Version   string // extent id, or the record's key for records
}

// aadPrefix leaves room for the index and flag each segment appends, so a
// reader or writer (each owning its prefix) appends without allocating.
func (b Binding) aadPrefix(segLog uint8) []byte {
	n := 16 + 3 + 20 + len(b.Kind) + len(b.Account) + len(b.Container) + len(b.Object) + len(b.Version)
	out := append(make([]byte, 0, n+9), "atrest/seg/v1"...)
	out = append(out, 0, FormatV1, segLog)
	for _, s := range []string{b.Kind, b.Account, b.Container, b.Object, b.Version} {
		out = binary.BigEndian.AppendUint32(out, uint32(len(s)))
		out = append(out, s...)
	}
	return out
}

// nonce: 8-byte big-endian segment index, three zero bytes, last flag.
// A DEK seals exactly one object, so counter nonces never repeat under a key.
func segNonce(n *[12]byte, idx uint64, last bool) {
	binary.BigEndian.PutUint64(n[:8], idx)
	n[8], n[9], n[10], n[11] = 0, 0, 0, 0
	if last {
		n[11] = 1
	}
}

func segAAD(prefix []byte, idx uint64, last bool) []byte {
	a := binary.BigEndian.AppendUint64(prefix, idx)
	if last {
		return append(a, 1)
	}
	return append(a, 0)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

var segPool = sync.Pool{New: func() any { b := make([]byte, 0, (1<<DefaultSegmentLog)+tagSize); return &b }}

func getBuf(n int) *[]byte {
	if n == (1<<DefaultSegmentLog)+tagSize {
		return segPool.Get().(*[]byte)
	}
	b := make([]byte, 0, n)
	return &b
}

func putBuf(b *[]byte) {
	if cap(*b) == (1<<DefaultSegmentLog)+tagSize {
		*b = (*b)[:0]
		segPool.Put(b)
	}
}

// segWriter encrypts a stream into segments. It holds back one full segment
// so that the final one, and only it, is sealed with the last flag.
type segWriter struct {
	aead   cipher.AEAD
	prefix []byte
	seg    int
	buf    *[]byte // plaintext of the pending segment
	out    *[]byte // scratch for sealing
	idx    uint64
	w      io.Writer
	n      int64 // plaintext bytes written
	closed bool
}

func newSegWriter(w io.Writer, aead cipher.AEAD, prefix []byte, segLog uint8) *segWriter {
	seg := 1 << segLog
	return &segWriter{aead: aead, prefix: prefix, seg: seg, buf: getBuf(seg + tagSize), out: getBuf(seg + tagSize), w: w}
}

func (s *segWriter) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errors.New("sse: write after close")
	}
	total := len(p)
	for len(p) > 0 {
		if len(*s.buf) == s.seg {
			if err := s.emit(false); err != nil {
				return total - len(p), err
			}
		}
		n := min(s.seg-len(*s.buf), len(p))
		*s.buf = append(*s.buf, p[:n]...)
		p = p[n:]
		s.n += int64(n)
	}
	return total, nil
}

func (s *segWriter) emit(last bool) error {
	var nonce [12]byte
	segNonce(&nonce, s.idx, last)
	aad := segAAD(s.prefix, s.idx, last)
	*s.out = s.aead.Seal((*s.out)[:0], nonce[:], *s.buf, aad)
	s.prefix = aad[:len(s.prefix)] // keep the (possibly grown) backing array
	s.idx++
	*s.buf = (*s.buf)[:0]
	_, err := s.w.Write(*s.out)
	return err
}

// Close seals the last segment (an empty one for an empty object).
func (s *segWriter) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.emit(true)
	putBuf(s.buf)
	putBuf(s.out)
	return err
}

// segLayout describes the segments of a sealed body of bodyLen bytes.
type segLayout struct {
	seg, nseg  int64
	plainSize  int64
	lastPlain  int64
	headerSize int64
}

func layout(headerSize, fileSize int64, segLog uint8) (segLayout, error) {
	seg := int64(1) << segLog
	body := fileSize - headerSize
	if body < tagSize {
		return segLayout{}, fmt.Errorf("body of %d bytes is shorter than one tag", body)
	}
	nseg := (body + seg + tagSize - 1) / (seg + tagSize)
	last := body - (nseg-1)*(seg+tagSize) - tagSize
	if last < 0 || (last == 0 && nseg > 1) {
		return segLayout{}, fmt.Errorf("body of %d bytes has an impossible segment layout", body)
	}
	return segLayout{seg: seg, nseg: nseg, plainSize: (nseg-1)*seg + last, lastPlain: last, headerSize: headerSize}, nil
}

// openSegments decrypts plaintext [off, off+n) from r, writing it to w, and
// reads only the segments that hold it. No byte of a segment reaches w before
// its tag verifies.
func openSegments(w io.Writer, r io.ReaderAt, l segLayout, aead cipher.AEAD, prefix []byte, off, n int64) error {
	if n == 0 && l.plainSize > 0 {
		return nil
	}
	ct := getBuf(int(l.seg + tagSize))
	pt := getBuf(int(l.seg + tagSize))
	defer putBuf(ct)
	defer putBuf(pt)
	// An empty object is one empty segment: still authenticate it.
	for i := off / l.seg; i*l.seg < off+n || (l.plainSize == 0 && i == 0); i++ {
		plain, err := openSegment((*pt)[:0], ct, r, l, aead, prefix, i)
		if err != nil {
			return err
		}
		lo := max(off-i*l.seg, 0)
		hi := min(off+n-i*l.seg, int64(len(plain)))
		if _, err := w.Write(plain[lo:hi]); err != nil {
			return &writeError{err}
		}
	}
	return nil
}

// openSegment reads segment i into *ct and opens it, appending the
// plaintext to dst.
func openSegment(dst []byte, ct *[]byte, r io.ReaderAt, l segLayout, aead cipher.AEAD, prefix []byte, i int64) ([]byte, error) {
	last := i == l.nseg-1
	size := l.seg + tagSize
	if last {
		size = l.lastPlain + tagSize
	}
	*ct = (*ct)[:size]
	if _, err := r.ReadAt(*ct, l.headerSize+i*(l.seg+tagSize)); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read segment %d: %w", i, err)
	}
	var nonce [12]byte
	segNonce(&nonce, uint64(i), last)
	aad := segAAD(prefix, uint64(i), last) // fits the spare capacity aadPrefix leaves
	plain, err := aead.Open(dst, nonce[:], *ct, aad)
	if err != nil {
		return nil, fmt.Errorf("segment %d: %w", i, errSegment)
	}
	return plain, nil
}

var errSegment = errors.New("segment failed authentication")

// writeError marks a failure of the destination, not of the stored data.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }
