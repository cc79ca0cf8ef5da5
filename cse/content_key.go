package cse

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
)

const (
	cekSize       = 32 // AES-256
	v2PrefixSize  = 8  // "2.0" or "2.1" and five NUL bytes
	v2PayloadSize = v2PrefixSize + cekSize
)

// wrapPayload is what the KEK wraps: the bare CEK for 1.0; for 2.x the
// protocol and five NULs, then the CEK, which binds the protocol to the key
// so relabelling Protocol in the unauthenticated JSON is caught (spec §2.1).
func wrapPayload(protocol string, cek []byte) []byte {
	if protocol == Protocol1_0 {
		return append([]byte(nil), cek...)
	}
	p := make([]byte, v2PrefixSize, v2PayloadSize)
	copy(p, protocol)
	return append(p, cek...)
}

// newCEK draws a fresh content-encryption key.
func newCEK() secret {
	b := make([]byte, cekSize)
	_, _ = rand.Read(b) // never fails since Go 1.24
	s := newSecret(b)
	clear(b)
	return s
}

// wrapCEK wraps cek for protocol with kek and returns the WrappedContentKey.
func wrapCEK(ctx context.Context, kek KeyEncryptionKey, protocol string, cek secret) (WrappedContentKey, error) {
	if kek == nil {
		return WrappedContentKey{}, errors.New("cse: no key-encryption key configured")
	}
	alg := kek.Algorithm()
	if alg == RSA1_5 {
		return WrappedContentKey{}, fmt.Errorf("%w: %s is read-only", ErrUnsupported, RSA1_5)
	}
	payload := wrapPayload(protocol, cek.bytes())
	defer clear(payload)
	wrapped, err := kek.WrapKey(ctx, payload)
	if err != nil {
		return WrappedContentKey{}, fmt.Errorf("cse: wrapping content key: %w", err)
	}
	return WrappedContentKey{KeyID: kek.KeyID(), EncryptedKey: wrapped, Algorithm: alg}, nil
}

// unwrapCEK checks ed, picks the KEK and recovers the CEK, checking the 2.x
// protocol prefix. Every failure of the unwrapped bytes is ErrDecrypt.
func unwrapCEK(ctx context.Context, kek KeyEncryptionKey, resolver KeyResolver, ed *EncryptionData) (secret, error) {
	if err := ed.check(); err != nil {
		return secret{}, err
	}
	k, err := selectKEK(ctx, kek, resolver, ed.WrappedContentKey.KeyID)
	if err != nil {
		return secret{}, err
	}
	out, err := k.UnwrapKey(ctx, ed.WrappedContentKey.EncryptedKey, canonicalAlgorithm(ed.WrappedContentKey.Algorithm))
	defer clear(out)
	if errors.Is(err, ErrDecrypt) {
		return secret{}, ErrDecrypt
	}
	if err != nil {
		return secret{}, fmt.Errorf("cse: unwrapping content key: %w", err)
	}
	if ed.isV2() {
		want := wrapPayload(ed.EncryptionAgent.Protocol, make([]byte, cekSize))[:v2PrefixSize]
		if len(out) != v2PayloadSize || subtle.ConstantTimeCompare(out[:v2PrefixSize], want) != 1 {
			return secret{}, ErrDecrypt
		}
		return newSecret(out[v2PrefixSize:]), nil
	}
	if len(out) != cekSize {
		return secret{}, ErrDecrypt
	}
	return newSecret(out), nil
}
