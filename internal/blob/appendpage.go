package blob

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

func (s *Service) createAppendBlob(w http.ResponseWriter, r *edge.Request) error {
	if r.ContentLength > 0 {
		return edge.ErrInvalidHeaderValue.With("Content-Length must be 0 when creating an append blob.")
	}
	return s.createEmpty(w, r, "AppendBlob", 0, 0)
}

func (s *Service) createPageBlob(w http.ResponseWriter, r *edge.Request) error {
	size, ok, err := parseInt(r.Header, "x-ms-blob-content-length")
	if err != nil {
		return err
	}
	if !ok {
		return edge.ErrMissingHeader.With("x-ms-blob-content-length is required for a page blob.")
	}
	if size%512 != 0 {
		return edge.ErrInvalidHeaderValue.With("x-ms-blob-content-length must be a multiple of 512.")
	}
	seq, _, err := parseInt(r.Header, "x-ms-blob-sequence-number")
	if err != nil {
		return err
	}
	return s.createEmpty(w, r, "PageBlob", size, seq)
}

func (s *Service) createEmpty(w http.ResponseWriter, r *edge.Request, typ string, size, seq int64) error {
	rec, k, err := s.newBlobRec(r, typ, true)
	if err != nil {
		return err
	}
	rec.Size, rec.SeqNum = size, seq
	if err := s.commitBlob(r, rec, k.account, nil); err != nil {
		return err
	}
	writeResult(w, http.StatusCreated, rec.ETag, rec, nil)
	return nil
}

func (s *Service) appendBlock(w http.ResponseWriter, r *edge.Request) error {
	maxSize, hasMax, err := parseInt(r.Header, "x-ms-blob-condition-maxsize")
	if err != nil {
		return err
	}
	appendPos, hasPos, err := parseInt(r.Header, "x-ms-blob-condition-appendpos")
	if err != nil {
		return err
	}
	if r.ContentLength == 0 {
		return errInvalidBlobOrBlock.With("An append block must not be empty.")
	}
	// Check what can be checked before taking the body.
	cur, err := s.readBlobRecForWrite(r, "AppendBlob")
	if err != nil {
		return err
	}
	k, err := s.keysFor(r, true, cur)
	if err != nil {
		return err
	}
	b, err := s.receive(r, r.Object, false, k.content)
	if err != nil {
		return err
	}
	var offset int64
	rec, err := s.updateBlob(r, true, func(rec *blobRec, t time.Time) error {
		if rec.Type != "AppendBlob" {
			return errInvalidBlobType
		}
		if err := matchCPK(rec.CPK, k.cpk); err != nil {
			return err
		}
		if err := matchScope(rec.Scope, k.scope); err != nil {
			return err
		}
		if rec.Sealed {
			return &edge.Error{Status: http.StatusConflict, Code: "BlobIsSealed", Message: "The blob is sealed and its contents cannot be modified."}
		}
		if hasMax && rec.Size+b.ext.Size > maxSize {
			return errMaxSizeCondition
		}
		if hasPos && rec.Size != appendPos {
			return errAppendPosCondition
		}
		if len(rec.Blocks) >= maxBlocks {
			return errBlockCountExceeded
		}
		offset = rec.Size
		rec.Blocks = append(rec.Blocks, block{ID: base64Block(len(rec.Blocks)), Ext: b.ext.ExtentRef})
		rec.Size += b.ext.Size
		touch(rec, t)
		return nil
	}, b.ext)
	if err != nil {
		b.ext.Discard()
		return err
	}
	h := w.Header()
	h.Set("x-ms-blob-append-offset", strconv.FormatInt(offset, 10))
	h.Set("x-ms-blob-committed-block-count", strconv.Itoa(len(rec.Blocks)))
	writeResult(w, http.StatusCreated, rec.ETag, rec, b)
	return nil
}

// readBlobRecForWrite loads the live blob, checking its type unless typ is "".
func (s *Service) readBlobRecForWrite(r *edge.Request, typ string) (*blobRec, error) {
	if r.URL.Query().Get("snapshot") != "" {
		return nil, errSnapshotOpNotSupported
	}
	var rec blobRec
	err := s.db.View(func(tx *sse.Tx) error {
		if _, err := loadContainer(tx, r.Account.Name, r.Container); err != nil {
			return err
		}
		return mapStoreErr(getJSON(tx, blobKey(r.Account.Name, r.Container, r.Object, ""), &rec), errBlobNotFound)
	})
	if err != nil {
		return nil, err
	}
	if typ != "" && rec.Type != typ {
		return nil, errInvalidBlobType
	}
	return &rec, nil
}

// pageSeqConditions applies x-ms-if-sequence-number-* headers.
func pageSeqConditions(r *http.Request, rec *blobRec) error {
	for _, c := range []struct {
		name string
		ok   func(v int64) bool
	}{
		{"x-ms-if-sequence-number-le", func(v int64) bool { return rec.SeqNum <= v }},
		{"x-ms-if-sequence-number-lt", func(v int64) bool { return rec.SeqNum < v }},
		{"x-ms-if-sequence-number-eq", func(v int64) bool { return rec.SeqNum == v }},
	} {
		v, ok, err := parseInt(r.Header, c.name)
		if err != nil {
			return err
		}
		if ok && !c.ok(v) {
			return errSeqNumCondition
		}
	}
	return nil
}

// cutPages removes [lo, hi) from a sorted, non-overlapping page list.
func cutPages(pages []page, lo, hi int64) []page {
	var out []page
	for _, p := range pages {
		if p.End <= lo || p.Start >= hi {
			out = append(out, p)
			continue
		}
		if p.Start < lo {
			out = append(out, page{Start: p.Start, End: lo, Ext: p.Ext, Off: p.Off})
		}
		if p.End > hi {
			out = append(out, page{Start: hi, End: p.End, Ext: p.Ext, Off: p.Off + (hi - p.Start)})
		}
	}
	return out
}

func insertPage(pages []page, np page) []page {
	pages = cutPages(pages, np.Start, np.End)
	i := 0
	for i < len(pages) && pages[i].Start < np.Start {
		i++
	}
	pages = append(pages, page{})
	copy(pages[i+1:], pages[i:])
	pages[i] = np
	return pages
}

func (s *Service) putPage(w http.ResponseWriter, r *edge.Request) error {
	br, _, err := parseRange(r.Header)
	if err != nil {
		return err
	}
	if !br.set || br.n < 0 || br.off%512 != 0 || br.n%512 != 0 {
		return errPageRangeInvalid.With("The page range must be aligned to 512-byte pages.")
	}
	write := r.Header.Get("x-ms-page-write")
	if write != "update" && write != "clear" {
		return edge.ErrInvalidHeaderValue.With("x-ms-page-write must be update or clear.")
	}
	cur, err := s.readBlobRecForWrite(r, "PageBlob")
	if err != nil {
		return err
	}
	if br.off+br.n > cur.Size {
		return errPageRangeInvalid
	}
	k, err := s.keysFor(r, write == "update", cur)
	if err != nil {
		return err
	}
	if err := matchCPK(cur.CPK, k.cpk); err != nil {
		return err
	}
	if err := s.checkScope(r.Account.Name, cur.Scope); err != nil {
		return err
	}
	var b *body
	var adopt []*sse.Extent
	if write == "update" {
		if r.ContentLength != br.n {
			return edge.ErrInvalidHeaderValue.With("Content-Length must equal the page range length.")
		}
		if b, err = s.receive(r, r.Object, false, k.content); err != nil {
			return err
		}
		adopt = append(adopt, b.ext)
	} else if r.ContentLength > 0 {
		return edge.ErrInvalidHeaderValue.With("Content-Length must be 0 for clear.")
	}
	rec, err := s.updateBlob(r, true, func(rec *blobRec, t time.Time) error {
		if rec.Type != "PageBlob" {
			return errInvalidBlobType
		}
		if err := pageSeqConditions(r.Request, rec); err != nil {
			return err
		}
		if err := matchCPK(rec.CPK, k.cpk); err != nil {
			return err
		}
		if write == "update" && rec.Scope != k.scope {
			return errScopeMismatch
		}
		if br.off+br.n > rec.Size {
			return errPageRangeInvalid
		}
		if write == "update" {
			rec.Pages = insertPage(rec.Pages, page{Start: br.off, End: br.off + br.n, Ext: b.ext.ExtentRef})
		} else {
			rec.Pages = cutPages(rec.Pages, br.off, br.off+br.n)
		}
		touch(rec, t)
		return nil
	}, adopt...)
	if err != nil {
		if b != nil {
			b.ext.Discard()
		}
		return err
	}
	w.Header().Set("x-ms-blob-sequence-number", strconv.FormatInt(rec.SeqNum, 10))
	writeResult(w, http.StatusCreated, rec.ETag, rec, b)
	return nil
}

type pageListXML struct {
	XMLName xml.Name       `xml:"PageList"`
	Ranges  []pageRangeXML `xml:"PageRange"`
}

type pageRangeXML struct {
	Start int64 `xml:"Start"`
	End   int64 `xml:"End"`
}

func (s *Service) getPageRanges(w http.ResponseWriter, r *edge.Request) error {
	rec, err := s.readBlobRec(r)
	if err != nil {
		return err
	}
	if rec.Type != "PageBlob" {
		return errInvalidBlobType
	}
	if err := conditions(r.Request, true, rec.ETag, rec.Modified, true); err != nil {
		return err
	}
	br, _, err := parseRange(r.Header)
	if err != nil {
		return err
	}
	lo, hi := int64(0), rec.Size
	if br.set {
		lo = br.off
		if br.n >= 0 {
			hi = min(hi, br.off+br.n)
		}
	}
	var out pageListXML
	for _, p := range rec.Pages {
		s, e := max(p.Start, lo), min(p.End, hi)
		if s >= e {
			continue
		}
		if n := len(out.Ranges); n > 0 && out.Ranges[n-1].End+1 == s {
			out.Ranges[n-1].End = e - 1
			continue
		}
		out.Ranges = append(out.Ranges, pageRangeXML{Start: s, End: e - 1})
	}
	h := w.Header()
	h.Set("ETag", rec.ETag)
	h.Set("Last-Modified", httpTime(rec.Modified))
	h.Set("x-ms-blob-content-length", strconv.FormatInt(rec.Size, 10))
	return writeXML(w, http.StatusOK, out)
}
