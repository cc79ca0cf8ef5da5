package blob

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// byteRange is an inclusive-exclusive range [off, off+n).
type byteRange struct {
	off, n int64
	set    bool
}

// parseRange reads x-ms-range (preferred) or Range: "bytes=a-b" or "bytes=a-".
func parseRange(h http.Header) (byteRange, string, error) {
	v := h.Get("x-ms-range")
	if v == "" {
		v = h.Get("Range")
	}
	if v == "" {
		return byteRange{}, "", nil
	}
	spec, ok := strings.CutPrefix(v, "bytes=")
	a, b, ok2 := strings.Cut(spec, "-")
	start, err := strconv.ParseInt(a, 10, 64)
	if !ok || !ok2 || err != nil || start < 0 {
		return byteRange{}, v, edge.ErrInvalidHeaderValue.With("The range %q is not valid.", v)
	}
	if b == "" {
		return byteRange{off: start, n: -1, set: true}, v, nil
	}
	end, err := strconv.ParseInt(b, 10, 64)
	if err != nil || end < start {
		return byteRange{}, v, edge.ErrInvalidHeaderValue.With("The range %q is not valid.", v)
	}
	return byteRange{off: start, n: end - start + 1, set: true}, v, nil
}

// clamp fits a range to a blob of size bytes, or reports 416.
func (br byteRange) clamp(size int64) (byteRange, error) {
	if !br.set {
		return byteRange{n: size}, nil
	}
	if br.off >= size {
		return br, errInvalidRange
	}
	if br.n < 0 || br.off+br.n > size {
		br.n = size - br.off
	}
	return br, nil
}

// readBlobRec loads a blob (or snapshot) and its container for a read.
func (s *Service) readBlobRec(r *edge.Request) (*blobRec, error) {
	var rec blobRec
	acct, c := r.Account.Name, r.Container
	err := s.db.View(func(tx *sse.Tx) error {
		crec, err := loadContainer(tx, acct, c)
		if err != nil {
			return err
		}
		if err := anonymousAllowed(r, crec, false); err != nil {
			return err
		}
		return mapStoreErr(getJSON(tx, blobKey(acct, c, r.Object, r.URL.Query().Get("snapshot")), &rec), errBlobNotFound)
	})
	return &rec, err
}

// bufferedRead is the largest range decrypted fully before the response
// starts, so that a failure is still a clean error status.
const bufferedRead = 1 * mib

func (s *Service) getBlob(w http.ResponseWriter, r *edge.Request) error {
	k, err := s.keysFor(r, false, nil)
	if err != nil {
		return err
	}
	rec, err := s.readBlobRec(r)
	if err != nil {
		return err
	}
	if err := matchCPK(rec.CPK, k.cpk); err != nil {
		return err
	}
	if err := s.checkScope(r.Account.Name, rec.Scope); err != nil {
		return err
	}
	t := now()
	if err := conditions(r.Request, true, rec.ETag, rec.Modified, true); err != nil {
		if err == edge.ErrNotModified {
			w.Header().Set("ETag", rec.ETag)
			w.Header().Set("Last-Modified", httpTime(rec.Modified))
		}
		return err
	}
	if r.Header.Get("x-ms-lease-id") != "" {
		if err := rec.Lease.check(r.Request, t, false); err != nil {
			return err
		}
	}
	meta, err := rec.metadata(s.db, s.keys, k, r.Account.Name, r.Container, r.Object)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", rec.ETag)
	h.Set("Last-Modified", httpTime(rec.Modified))
	writeCPKHeader(h, rec.CPK)
	writeScopeHeader(h, rec.Scope)
	edge.WriteMetadata(h, meta)
	if r.Route.Comp == "metadata" {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	s.propertyHeaders(h, rec, t, r.Method == http.MethodHead)
	if r.SAS != nil {
		// a SAS may override the response headers of blob reads
		for k, name := range map[string]string{"rscc": "Cache-Control", "rscd": "Content-Disposition",
			"rsce": "Content-Encoding", "rscl": "Content-Language", "rsct": "Content-Type"} {
			if v := r.SAS.Overrides[k]; v != "" {
				h.Set(name, v)
			}
		}
	}
	if r.Method == http.MethodHead {
		h.Set("Content-Length", strconv.FormatInt(rec.Size, 10))
		if len(rec.Headers.MD5) > 0 {
			h.Set("Content-MD5", base64.StdEncoding.EncodeToString(rec.Headers.MD5))
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	br, _, err := parseRange(r.Header)
	if err != nil {
		return err
	}
	rng, err := br.clamp(rec.Size)
	if err != nil {
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(rec.Size, 10))
		return err
	}
	wantMD5 := r.Header.Get("x-ms-range-get-content-md5") == "true"
	if wantMD5 && (!br.set || br.n < 0 || br.n > 4*mib) {
		return edge.ErrOutOfRangeInput.With("x-ms-range-get-content-md5 needs a range of at most 4 MiB.")
	}
	status := http.StatusOK
	if br.set {
		status = http.StatusPartialContent
		h.Set("Content-Range", "bytes "+strconv.FormatInt(rng.off, 10)+"-"+strconv.FormatInt(rng.off+rng.n-1, 10)+"/"+strconv.FormatInt(rec.Size, 10))
		if len(rec.Headers.MD5) > 0 {
			h.Set("x-ms-blob-content-md5", base64.StdEncoding.EncodeToString(rec.Headers.MD5))
		}
	} else if len(rec.Headers.MD5) > 0 {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(rec.Headers.MD5))
	}
	h.Set("Content-Length", strconv.FormatInt(rng.n, 10))
	if rng.n <= bufferedRead || wantMD5 {
		var buf bytes.Buffer
		buf.Grow(int(rng.n))
		if err := s.writeContent(&buf, r, rec, rng.off, rng.n, k.content); err != nil {
			// the error answer has a body of its own length
			for _, name := range []string{"Content-Length", "Content-Range", "Content-MD5", "Content-Type"} {
				h.Del(name)
			}
			return mapStoreErr(err, errBlobNotFound)
		}
		if wantMD5 {
			sum := md5.Sum(buf.Bytes())
			h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		}
		w.WriteHeader(status)
		_, err := w.Write(buf.Bytes())
		return ignoreClientGone(err)
	}
	w.WriteHeader(status)
	if err := s.writeContent(w, r, rec, rng.off, rng.n, k.content); err != nil {
		if errors.Is(err, sse.ErrAuth) || errors.Is(err, sse.ErrKeyUnavailable) {
			// Headers are gone: cut the connection so the client sees a
			// failed transfer, never bytes that did not authenticate.
			panic(http.ErrAbortHandler)
		}
		return ignoreClientGone(err)
	}
	return nil
}

// ignoreClientGone ends a response whose client stopped reading: there is
// no one left to answer.
func ignoreClientGone(err error) error {
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (s *Service) propertyHeaders(h http.Header, rec *blobRec, t time.Time, head bool) {
	h.Set("x-ms-creation-time", httpTime(rec.Created))
	h.Set("x-ms-blob-type", rec.Type)
	h.Set("x-ms-server-encrypted", "true")
	h.Set("Accept-Ranges", "bytes")
	ct := rec.Headers.Type
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	for name, v := range map[string]string{"Content-Encoding": rec.Headers.Encoding, "Content-Language": rec.Headers.Language,
		"Content-Disposition": rec.Headers.Disposition, "Cache-Control": rec.Headers.Cache} {
		if v != "" {
			h.Set(name, v)
		}
	}
	rec.Lease.writeHeaders(h, t)
	switch rec.Type {
	case "AppendBlob":
		h.Set("x-ms-blob-committed-block-count", strconv.Itoa(len(rec.Blocks)))
		if rec.Sealed {
			h.Set("x-ms-blob-sealed", "true")
		}
	case "PageBlob":
		h.Set("x-ms-blob-sequence-number", strconv.FormatInt(rec.SeqNum, 10))
	case "BlockBlob":
		if head {
			if rec.Tier == "" {
				h.Set("x-ms-access-tier", "Hot")
				h.Set("x-ms-access-tier-inferred", "true")
			} else {
				h.Set("x-ms-access-tier", rec.Tier)
				h.Set("x-ms-access-tier-change-time", httpTime(rec.TierChanged))
			}
		}
	}
	if c := rec.Copy; c != nil {
		h.Set("x-ms-copy-id", c.ID)
		h.Set("x-ms-copy-source", c.Source)
		h.Set("x-ms-copy-status", c.Status)
		h.Set("x-ms-copy-progress", c.Progress)
		h.Set("x-ms-copy-completion-time", httpTime(c.Completed))
	}
}

// writeContent writes plaintext [off, off+n) of a blob to w, opening only
// the extents that hold it; page-blob gaps read as zeros.
func (s *Service) writeContent(w io.Writer, r *edge.Request, rec *blobRec, off, n int64, kek sse.KEK) error {
	acct, c, name := r.Account.Name, r.Container, r.Object
	return writeBlobContent(s.db, w, acct, c, name, rec, off, n, kek)
}

// writeBlobContent writes plaintext [off, off+n) of a blob; kek is tried
// before the keyring (the request's customer-provided key).
func writeBlobContent(db *sse.DB, w io.Writer, acct, c, name string, rec *blobRec, off, n int64, kek sse.KEK) error {
	end := off + n
	if rec.Type == "PageBlob" {
		pos := off
		for _, p := range rec.Pages {
			if p.End <= pos || p.Start >= end {
				continue
			}
			if p.Start > pos {
				if err := writeZeros(w, p.Start-pos); err != nil {
					return err
				}
				pos = p.Start
			}
			hi := min(p.End, end)
			if err := copyExtent(db, w, acct, c, name, p.Ext, p.Off+(pos-p.Start), hi-pos, kek); err != nil {
				return err
			}
			pos = hi
		}
		return writeZeros(w, end-pos)
	}
	var at int64
	for _, b := range rec.Blocks {
		lo, hi := at, at+b.Ext.Size
		at = hi
		if hi <= off || lo >= end || b.Ext.Size == 0 {
			continue
		}
		from := max(off, lo) - lo
		to := min(end, hi) - lo
		if err := copyExtent(db, w, acct, c, name, b.Ext, from, to-from, kek); err != nil {
			return err
		}
	}
	return nil
}

func copyExtent(db *sse.DB, w io.Writer, acct, c, name string, ref sse.ExtentRef, off, n int64, kek sse.KEK) error {
	er, err := db.OpenExtent(ref, acct, c, name, kek)
	if err != nil {
		return err
	}
	defer er.Close()
	return er.WriteRange(w, off, n)
}

var zeros = make([]byte, 64*kib)

func writeZeros(w io.Writer, n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := w.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
