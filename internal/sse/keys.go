package sse

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/atrest/atrest/internal/secret"
)

// KEK wraps and unwraps data keys. Implementations: the service-managed key
// here; customer-managed, customer-provided and HSM keys elsewhere.
type KEK interface {
	Source() Source
	Ref() string
	Version() string
	Wrap(dek secret.Key, aad []byte) ([]byte, error)
	Unwrap(wrapped, aad []byte) (secret.Key, error)
}

// Resolver finds the KEK a header names.
type Resolver interface {
	Resolve(src Source, ref, version string) (KEK, error)
}

// gcmKEK wraps DEKs with AES-256-GCM under a 256-bit key.
type gcmKEK struct {
	src          Source
	ref, version string
	aead         cipher.AEAD
}

func newGCMKEK(src Source, ref, version string, key secret.Key) (*gcmKEK, error) {
	if key.Len() != 32 {
		return nil, errors.New("sse: KEK must be 256 bits")
	}
	a, err := newGCM(key.Bytes())
	if err != nil {
		return nil, err
	}
	return &gcmKEK{src: src, ref: ref, version: version, aead: a}, nil
}

func (k *gcmKEK) Source() Source  { return k.src }
func (k *gcmKEK) Ref() string     { return k.ref }
func (k *gcmKEK) Version() string { return k.version }

func (k *gcmKEK) Wrap(dek secret.Key, aad []byte) ([]byte, error) {
	nonce := make([]byte, 12, 12+dek.Len()+tagSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.aead.Seal(nonce, nonce, dek.Bytes(), aad), nil
}

func (k *gcmKEK) Unwrap(w, aad []byte) (secret.Key, error) {
	if len(w) != 12+32+tagSize {
		return secret.Key{}, ErrAuth
	}
	dek, err := k.aead.Open(nil, w[:12], w[12:], aad)
	if err != nil {
		return secret.Key{}, ErrAuth
	}
	return secret.New(dek), nil
}

// CustomerKEK wraps DEKs under a key the client sends with each request
// (customer-provided keys). The key itself is never stored: headers name it
// by the base64 SHA-256 that Azure also returns, which is all a later request
// is checked against.
func CustomerKEK(key secret.Key) (KEK, error) {
	if key.Len() != 32 {
		return nil, errors.New("sse: a customer-provided key must be 256 bits")
	}
	return newGCMKEK(SourceCustomer, "customer", CustomerKeyHash(key), key)
}

// CustomerKeyHash is the base64 SHA-256 of a customer-provided key.
func CustomerKeyHash(key secret.Key) string {
	sum := sha256.Sum256(key.Bytes())
	return base64.StdEncoding.EncodeToString(sum[:])
}

// WithKEKs resolves the given KEKs first (e.g. a customer-provided key from
// the current request), then falls back to res.
func WithKEKs(res Resolver, keks ...KEK) Resolver {
	var some []KEK
	for _, k := range keks {
		if k != nil {
			some = append(some, k)
		}
	}
	if len(some) == 0 {
		return res
	}
	return extraKEKs{res, some}
}

type extraKEKs struct {
	res  Resolver
	keks []KEK
}

func (e extraKEKs) Resolve(src Source, ref, version string) (KEK, error) {
	for _, k := range e.keks {
		if k.Source() == src && k.Ref() == ref && k.Version() == version {
			return k, nil
		}
	}
	return e.res.Resolve(src, ref, version)
}

// NewAESKEK is a KEK that wraps DEKs with AES-256-GCM under key, for
// sources whose key material is held elsewhere (a customer-managed
// intermediate key unwrapped by a Key Vault, one unwrapped by an HSM). The
// key is copied; the caller may wipe its own.
func NewAESKEK(src Source, ref, version string, key secret.Key) (KEK, error) {
	return newGCMKEK(src, ref, version, key)
}
