package sse

import (
	"crypto/cipher"
	"fmt"
	"io"

	"github.com/atrest/atrest/internal/secret"
)

// Infrastructure encryption: for accounts and scopes that require it, every
// sealed object (record or extent) is sealed a second time, as a whole,
// under an independent hierarchy: its own root key, its own KEK per
// account (source SourceInfra) and its own DEK per object. The inner
// object, header included, is the outer object's plaintext, so neither
// layer's keys alone reveal content, metadata or which KEK wraps the
// inner DEK.

// layered seals with inner, then seals the result with infra. It answers
// for inner (source, reference, version) so that callers see the key that
// governs access.
type layered struct {
	inner, infra KEK
}

// Layered returns a KEK whose objects are sealed under inner and then,
// as a whole, under infra (a KEK of source SourceInfra).
func Layered(inner, infra KEK) KEK { return &layered{inner: inner, infra: infra} }

func (l *layered) Source() Source  { return l.inner.Source() }
func (l *layered) Ref() string     { return l.inner.Ref() }
func (l *layered) Version() string { return l.inner.Version() }

func (l *layered) Wrap(dek secret.Key, aad []byte) ([]byte, error) { return l.inner.Wrap(dek, aad) }
func (l *layered) Unwrap(w, aad []byte) (secret.Key, error)        { return l.inner.Unwrap(w, aad) }

// Inner is the KEK that seals inside a possible infrastructure layer.
func Inner(k KEK) KEK {
	if l, ok := k.(*layered); ok {
		return l.inner
	}
	return k
}

// HasInfrastructureLayer reports whether k seals a second layer.
func HasInfrastructureLayer(k KEK) bool {
	_, ok := k.(*layered)
	return ok
}

// outer is the binding of the infrastructure layer around an object
// bound to b: the same place under another kind, so the two layers'
// associated data never coincide.
func (b Binding) outer() Binding {
	b.Kind = "infra:" + b.Kind
	return b
}

// sealLayer seals value under the infrastructure layer.
func sealLayer(infra KEK, b Binding, inner []byte) ([]byte, error) {
	return sealOne(infra, b.outer(), inner)
}

// openLayer opens the infrastructure layer of a sealed value whose header
// names SourceInfra, returning the inner sealed value.
func openLayer(res Resolver, b Binding, sealed []byte) ([]byte, error) {
	inner, _, err := openOne(res, b.outer(), sealed)
	return inner, err
}

// layerReader reads the plaintext of an infrastructure layer (that is, the
// inner sealed object) at any offset, decrypting the outer segments it
// needs and keeping the last one for the next read.
type layerReader struct {
	r      io.ReaderAt
	l      segLayout
	aead   cipher.AEAD
	prefix []byte

	idx   int64  // segment held in plain, -1 for none
	plain []byte // the opened segment idx
	ct    []byte // scratch for its ciphertext
}

func (d *DB) openLayerReader(res Resolver, ra io.ReaderAt, size int64, b Binding) (*layerReader, error) {
	head := make([]byte, min(size, maxHeaderLen))
	if _, err := ra.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, err
	}
	h, n, aead, err := openHeader(res, head)
	if err != nil {
		return nil, err
	}
	l, err := layout(int64(n), size, h.SegmentLog)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	return &layerReader{r: ra, l: l, aead: aead, prefix: b.outer().aadPrefix(h.SegmentLog), idx: -1,
		plain: make([]byte, 0, l.seg+tagSize), ct: make([]byte, 0, l.seg+tagSize)}, nil
}

func (lr *layerReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= lr.l.plainSize {
			return n, io.EOF
		}
		i := pos / lr.l.seg
		if i != lr.idx {
			// open straight into the held buffer: no copy between layers
			plain, err := openSegment(lr.plain[:0], &lr.ct, lr.r, lr.l, lr.aead, lr.prefix, i)
			if err != nil {
				lr.idx = -1
				return n, err
			}
			lr.plain, lr.idx = plain, i
		}
		seg := lr.plain
		n += copy(p[n:], seg[pos-i*lr.l.seg:])
	}
	return n, nil
}
