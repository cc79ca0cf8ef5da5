package blob

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// crcTable is the CRC-64 Azure uses for x-ms-content-crc64.
var crcTable = crc64.MakeTable(0x9A6C9329AC4BC9B5)

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256*kib); return &b }}

// body is a request body written to a new extent, with its digests.
type body struct {
	ext   *sse.Extent
	md5   []byte
	crc   []byte
	empty bool
}

// receive streams the request body into a new extent for (container, blob),
// checking Content-MD5 and x-ms-content-crc64 when the client sent them.
// alwaysMD5 computes the MD5 even unasked (Put Blob stores it).
func (s *Service) receive(r *edge.Request, blobName string, alwaysMD5 bool, kek sse.KEK) (*body, error) {
	if r.ContentLength < 0 {
		return nil, edge.ErrMissingContentLength
	}
	wantMD5, err := b64Header(r.Header, "Content-MD5", 16)
	if err != nil {
		return nil, err
	}
	wantCRC, err := b64Header(r.Header, "x-ms-content-crc64", 8)
	if err != nil {
		return nil, err
	}
	ew, err := s.db.NewExtent(kek, r.Account.Name, r.Container, blobName)
	if err != nil {
		return nil, err
	}
	var m hash.Hash
	var c hash.Hash64
	dst := io.Writer(ew)
	if wantMD5 != nil || alwaysMD5 {
		m = md5.New()
		dst = io.MultiWriter(dst, m)
	}
	if wantCRC != nil {
		c = crc64.New(crcTable)
		dst = io.MultiWriter(dst, c)
	}
	buf := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(dst, io.LimitReader(r.Body, r.ContentLength+1), *buf)
	copyBufs.Put(buf)
	if err == nil && n != r.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		ew.Abort()
		return nil, err
	}
	out := &body{empty: n == 0}
	if m != nil {
		out.md5 = m.Sum(nil)
		if wantMD5 != nil && !bytes.Equal(out.md5, wantMD5) {
			ew.Abort()
			return nil, edge.ErrMd5Mismatch
		}
	}
	if c != nil {
		out.crc = binary.LittleEndian.AppendUint64(nil, c.Sum64())
		if !bytes.Equal(out.crc, wantCRC) {
			ew.Abort()
			return nil, edge.ErrCrc64Mismatch
		}
	}
	if out.ext, err = ew.Finish(); err != nil {
		return nil, err
	}
	return out, nil
}

func b64Header(h http.Header, name string, size int) ([]byte, error) {
	v := h.Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != size {
		return nil, edge.ErrInvalidHeaderValue.With("The value of %s is not valid.", name)
	}
	return b, nil
}

// writeResult sets the headers every successful write returns.
func writeResult(w http.ResponseWriter, status int, etag string, rec *blobRec, b *body) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Last-Modified", httpTime(rec.Modified))
	h.Set("x-ms-request-server-encrypted", "true")
	writeCPKHeader(h, rec.CPK)
	writeScopeHeader(h, rec.Scope)
	if b != nil && b.md5 != nil {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.md5))
	}
	if b != nil && b.crc != nil {
		h.Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(b.crc))
	}
	w.WriteHeader(status)
}

// newBlobRec starts the record of a blob a request creates or replaces: its
// content headers (falling back to the request's own, as Put Blob does),
// metadata, access tier, and the keys that seal it.
func (s *Service) newBlobRec(r *edge.Request, typ string, fallback bool) (*blobRec, *writeKeys, error) {
	if r.URL.Query().Get("snapshot") != "" {
		return nil, nil, errSnapshotOpNotSupported
	}
	ch, err := contentHeadersFrom(r.Header, fallback)
	if err != nil {
		return nil, nil, err
	}
	meta, err := edge.Metadata(r.Header)
	if err != nil {
		return nil, nil, err
	}
	tier, err := tierFrom(r.Header.Get("x-ms-access-tier"))
	if err != nil {
		return nil, nil, err
	}
	k, err := s.keysFor(r, true, nil)
	if err != nil {
		return nil, nil, err
	}
	t := now()
	rec := &blobRec{Type: typ, Created: t, Modified: t, ETag: newETag(t), Headers: ch, Tier: tier}
	if typ != "BlockBlob" {
		rec.Tier = ""
	}
	if err := rec.setMetadata(k, r.Account.Name, r.Container, r.Object, meta); err != nil {
		return nil, nil, err
	}
	return rec, k, nil
}

// contentHeadersFrom reads the x-ms-blob-* content headers of a write,
// falling back to the request's own headers as Put Blob does.
func contentHeadersFrom(h http.Header, fallback bool) (contentHeaders, error) {
	pick := func(name, plain string) string {
		if v := h.Get(name); v != "" || !fallback {
			return v
		}
		return h.Get(plain)
	}
	ch := contentHeaders{
		Type:        pick("x-ms-blob-content-type", "Content-Type"),
		Encoding:    pick("x-ms-blob-content-encoding", "Content-Encoding"),
		Language:    pick("x-ms-blob-content-language", "Content-Language"),
		Cache:       pick("x-ms-blob-cache-control", "Cache-Control"),
		Disposition: h.Get("x-ms-blob-content-disposition"),
	}
	md5, err := b64Header(h, "x-ms-blob-content-md5", 16)
	if err != nil {
		return ch, err
	}
	ch.MD5 = md5
	return ch, nil
}

func parseInt(h http.Header, name string) (int64, bool, error) {
	v := h.Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, true, edge.ErrInvalidHeaderValue.With("The value of %s is not valid.", name)
	}
	return n, true, nil
}
