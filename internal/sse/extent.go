package sse

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"

	"github.com/atrest/atrest/internal/store"
)

// ExtentRef is what a service record keeps to find an extent again.
type ExtentRef struct {
	ID     string `json:"id"`
	Size   int64  `json:"n"`
	Inline bool   `json:"i,omitempty"`
}

// Extent is a freshly written extent, not yet adopted by a transaction.
type Extent struct {
	ExtentRef
	bind   Binding
	sealed []byte // the whole sealed extent, when Inline
	d      *DB
}

// Discard deletes an extent that no transaction adopted.
func (e *Extent) Discard() {
	if !e.Inline {
		e.d.objects.Delete(e.ID)
	}
}

func extBinding(account, container, object, id string) Binding {
	return Binding{Kind: "ext", Account: account, Container: container, Object: object, Version: id}
}

// ExtentWriter encrypts one extent as it streams in. Small extents stay in
// memory and are stored by Tx.Adopt; larger ones spill to the object store.
type ExtentWriter struct {
	d     *DB
	id    string
	bind  Binding
	seg   *segWriter
	outer *segWriter // the infrastructure layer, when there is one
	buf   bytes.Buffer
	ow    store.ObjectWriter
	err   error
}

// NewExtent starts an extent for an object at (account, container, object).
func (d *DB) NewExtent(kek KEK, account, container, object string) (*ExtentWriter, error) {
	id := newExtentID()
	w := &ExtentWriter{d: d, id: id, bind: extBinding(account, container, object, id)}
	var dst io.Writer = spill{w}
	if l, ok := kek.(*layered); ok {
		// the inner object, header first, is the outer one's plaintext
		hdr, aead, err := newObject(l.infra, DefaultSegmentLog)
		if err != nil {
			return nil, err
		}
		w.buf.Write(hdr)
		w.outer = newSegWriter(dst, aead, w.bind.outer().aadPrefix(DefaultSegmentLog), DefaultSegmentLog)
		dst, kek = w.outer, l.inner
	}
	hdr, aead, err := newObject(kek, DefaultSegmentLog)
	if err != nil {
		return nil, err
	}
	if _, err := dst.Write(hdr); err != nil {
		return nil, err
	}
	w.seg = newSegWriter(dst, aead, w.bind.aadPrefix(DefaultSegmentLog), DefaultSegmentLog)
	return w, nil
}

// spill buffers sealed bytes until they outgrow the inline limit.
type spill struct{ w *ExtentWriter }

func (s spill) Write(p []byte) (int, error) {
	w := s.w
	if w.ow == nil && (w.seg == nil || w.seg.n <= w.d.inlineMax) {
		return w.buf.Write(p)
	}
	if w.ow == nil {
		ow, err := w.d.objects.Create(w.id)
		if err != nil {
			return 0, err
		}
		w.ow = ow
		if _, err := ow.Write(w.buf.Bytes()); err != nil {
			return 0, err
		}
		w.buf = bytes.Buffer{}
	}
	return w.ow.Write(p)
}

func (w *ExtentWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.seg.Write(p)
	w.err = err
	return n, err
}

// Size is the plaintext written so far.
func (w *ExtentWriter) Size() int64 { return w.seg.n }

// Finish seals the last segment and, for a large extent, makes it durable.
func (w *ExtentWriter) Finish() (*Extent, error) {
	if w.err != nil {
		w.Abort()
		return nil, w.err
	}
	if err := w.seg.Close(); err != nil {
		w.Abort()
		return nil, err
	}
	if w.outer != nil {
		if err := w.outer.Close(); err != nil {
			w.Abort()
			return nil, err
		}
	}
	e := &Extent{ExtentRef: ExtentRef{ID: w.id, Size: w.seg.n}, bind: w.bind, d: w.d}
	if w.ow == nil {
		e.Inline = true
		e.sealed = w.buf.Bytes()
		return e, nil
	}
	if err := w.ow.Commit(); err != nil {
		return nil, err
	}
	return e, nil
}

// Abort drops a partly written extent.
func (w *ExtentWriter) Abort() {
	w.seg.closed = true
	if w.outer != nil {
		w.outer.closed = true
	}
	if w.ow != nil {
		w.ow.Abort()
	}
}

// ExtentReader reads plaintext ranges of one extent.
type ExtentReader struct {
	d      *DB
	r      io.ReaderAt
	closer io.Closer
	l      segLayout
	aead   cipher.AEAD
	prefix []byte
	name   string
	Header *Header
}

// OpenExtent opens the extent ref, which must belong to (account, container,
// object): bytes from anywhere else fail to authenticate. keks are tried
// before the keyring (a customer-provided key sent with the request).
func (d *DB) OpenExtent(ref ExtentRef, account, container, object string, keks ...KEK) (*ExtentReader, error) {
	name := fmt.Sprintf("%s/%s/%s extent %s", account, container, object, ref.ID)
	var ra io.ReaderAt
	var size int64
	var closer io.Closer = io.NopCloser(nil)
	if ref.Inline {
		var b []byte
		err := d.meta.View(func(tx store.Tx) error {
			v, err := tx.Get([]byte(inlinePrefix + ref.ID))
			b = append([]byte(nil), v...)
			return err
		})
		if err != nil {
			d.log.Error("stored extent missing", "object", name, "err", err)
			return nil, ErrAuth
		}
		ra, size = bytes.NewReader(b), int64(len(b))
	} else {
		or, err := d.objects.Open(ref.ID)
		if err != nil {
			d.log.Error("stored extent missing", "object", name, "err", err)
			return nil, ErrAuth
		}
		ra, size, closer = or, or.Size(), or
	}
	r, err := d.openExtentAt(WithKEKs(d.keys, keks...), ra, size, extBinding(account, container, object, ref.ID), name)
	if err != nil {
		closer.Close()
		return nil, err
	}
	r.closer = closer
	if r.l.plainSize != ref.Size {
		closer.Close()
		d.log.Error("stored extent failed authentication", "object", name, "err", fmt.Sprintf("holds %d bytes, record says %d", r.l.plainSize, ref.Size))
		return nil, ErrAuth
	}
	return r, nil
}

func (d *DB) openExtentAt(res Resolver, ra io.ReaderAt, size int64, b Binding, name string) (*ExtentReader, error) {
	head := make([]byte, min(size, maxHeaderLen))
	if _, err := ra.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, err
	}
	if isLayer(head) {
		lr, err := d.openLayerReader(res, ra, size, b)
		if err == nil && lr.l.plainSize > 6 {
			head = make([]byte, 7)
			if _, err = lr.ReadAt(head, 0); err == nil && isLayer(head) {
				err = fmt.Errorf("%w: nested infrastructure layers", ErrAuth)
			}
		}
		if err != nil {
			d.log.Error("stored extent failed to open", "object", name, "err", err)
			if errors.Is(err, ErrKeyUnavailable) {
				return nil, unavailable(err)
			}
			return nil, ErrAuth
		}
		ra, size = lr, lr.l.plainSize
		head = make([]byte, min(size, maxHeaderLen))
		if _, err := ra.ReadAt(head, 0); err != nil && err != io.EOF {
			d.log.Error("stored extent failed authentication", "object", name, "err", err)
			return nil, ErrAuth
		}
	}
	h, n, aead, err := openHeader(res, head)
	if err != nil {
		d.log.Error("stored extent failed to open", "object", name, "err", err)
		if errors.Is(err, ErrKeyUnavailable) {
			return nil, unavailable(err)
		}
		return nil, ErrAuth
	}
	l, err := layout(int64(n), size, h.SegmentLog)
	if err != nil {
		d.log.Error("stored extent failed authentication", "object", name, "err", err)
		return nil, ErrAuth
	}
	return &ExtentReader{d: d, r: ra, l: l, aead: aead, prefix: b.aadPrefix(h.SegmentLog), name: name, Header: h}, nil
}

// Size is the extent's plaintext length.
func (r *ExtentReader) Size() int64 { return r.l.plainSize }

// WriteRange writes plaintext [off, off+n) to w, decrypting only the
// segments it needs. A failure of w is returned as is; any failure of the
// stored bytes is ErrAuth.
func (r *ExtentReader) WriteRange(w io.Writer, off, n int64) error {
	if off < 0 || n < 0 || off+n > r.l.plainSize {
		return fmt.Errorf("sse: range %d+%d outside extent of %d bytes", off, n, r.l.plainSize)
	}
	err := openSegments(w, r.r, r.l, r.aead, r.prefix, off, n)
	var we *writeError
	if errors.As(err, &we) {
		return we.err
	}
	if err != nil {
		r.d.log.Error("stored extent failed authentication", "object", r.name, "err", err)
		return ErrAuth
	}
	return nil
}

// Close releases the extent.
func (r *ExtentReader) Close() error { return r.closer.Close() }
