package sse

import (
	"bytes"
	"crypto/cipher"
	"fmt"
	"io"

	"github.com/atrest/atrest/internal/secret"
)

// newObject draws a DEK for one object, wraps it under kek and returns the
// encoded header and the DEK's AEAD.
func newObject(kek KEK, segLog uint8) ([]byte, cipher.AEAD, error) {
	dek, err := secret.Random(32)
	if err != nil {
		return nil, nil, err
	}
	defer dek.Wipe()
	h := &Header{SegmentLog: segLog, Source: kek.Source(), Wrap: WrapA256GCM, KeyRef: kek.Ref(), KeyVersion: kek.Version()}
	if h.WrappedDEK, err = kek.Wrap(dek, h.wrapAAD()); err != nil {
		return nil, nil, fmt.Errorf("sse: wrap data key: %w", err)
	}
	hdr, err := h.Marshal()
	if err != nil {
		return nil, nil, err
	}
	aead, err := newGCM(dek.Bytes())
	return hdr, aead, err
}

// openHeader parses a header and unwraps its DEK. Errors are ErrAuth or
// ErrKeyUnavailable wrapped with the precise cause (for logs only).
func openHeader(res Resolver, b []byte) (*Header, int, cipher.AEAD, error) {
	h, n, err := ParseHeader(b)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	if h.Wrap != WrapA256GCM {
		return nil, 0, nil, fmt.Errorf("%w: unknown wrap algorithm %d", ErrAuth, h.Wrap)
	}
	kek, err := res.Resolve(h.Source, h.KeyRef, h.KeyVersion)
	if err != nil {
		return nil, 0, nil, err
	}
	dek, err := kek.Unwrap(h.WrappedDEK, h.wrapAAD())
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%w: data key does not unwrap", ErrAuth)
	}
	defer dek.Wipe()
	aead, err := newGCM(dek.Bytes())
	if err != nil {
		return nil, 0, nil, err
	}
	return h, n, aead, nil
}

// Seal encrypts a whole value into the at-rest format bound to b (twice,
// when kek has an infrastructure layer).
func Seal(kek KEK, b Binding, value []byte) ([]byte, error) {
	if l, ok := kek.(*layered); ok {
		inner, err := sealOne(l.inner, b, value)
		if err != nil {
			return nil, err
		}
		return sealLayer(l.infra, b, inner)
	}
	return sealOne(kek, b, value)
}

func sealOne(kek KEK, b Binding, value []byte) ([]byte, error) {
	hdr, aead, err := newObject(kek, DefaultSegmentLog)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(hdr) + len(value) + tagSize*(1+len(value)>>DefaultSegmentLog))
	out.Write(hdr)
	w := newSegWriter(&out, aead, b.aadPrefix(DefaultSegmentLog), DefaultSegmentLog)
	w.Write(value)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Open authenticates and decrypts a value sealed by Seal for the same b.
// The header returned is the innermost one.
func Open(res Resolver, b Binding, sealed []byte) ([]byte, *Header, error) {
	if isLayer(sealed) {
		inner, err := openLayer(res, b, sealed)
		if err != nil {
			return nil, nil, err
		}
		if isLayer(inner) {
			return nil, nil, fmt.Errorf("%w: nested infrastructure layers", ErrAuth)
		}
		sealed = inner
	}
	return openOne(res, b, sealed)
}

// isLayer reports whether sealed bytes start with an infrastructure
// layer's header.
func isLayer(b []byte) bool {
	return len(b) > 6 && string(b[:4]) == Magic && Source(b[6]) == SourceInfra
}

func openOne(res Resolver, b Binding, sealed []byte) ([]byte, *Header, error) {
	h, n, aead, err := openHeader(res, sealed)
	if err != nil {
		return nil, nil, err
	}
	l, err := layout(int64(n), int64(len(sealed)), h.SegmentLog)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	var out bytes.Buffer
	out.Grow(int(l.plainSize))
	if err := openSegments(&out, bytes.NewReader(sealed), l, aead, b.aadPrefix(h.SegmentLog), 0, l.plainSize); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	return out.Bytes(), h, nil
}

// sealingWriter streams a new object: header first, then segments.
type sealingWriter struct {
	seg *segWriter
}

func newSealingWriter(w io.Writer, kek KEK, b Binding) (*sealingWriter, error) {
	hdr, aead, err := newObject(kek, DefaultSegmentLog)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	return &sealingWriter{seg: newSegWriter(w, aead, b.aadPrefix(DefaultSegmentLog), DefaultSegmentLog)}, nil
}
