package cse

import (
	"context"
	"fmt"
)

// KeyEncryptionKey wraps and unwraps content-encryption keys. It is the same
// contract as the SDKs' KEK objects (Python's wrap_key/unwrap_key, .NET's
// IKeyEncryptionKey), so a Key Vault client can implement it directly.
//
// UnwrapKey must return ErrDecrypt (or an error wrapping it) when the wrapped
// bytes do not authenticate under this key; other errors (a network failure
// reaching a remote key) are passed through to the caller unchanged.
type KeyEncryptionKey interface {
	// WrapKey wraps cek with the algorithm named by Algorithm.
	WrapKey(ctx context.Context, cek []byte) ([]byte, error)
	// UnwrapKey unwraps wrapped, which was wrapped with algorithm.
	UnwrapKey(ctx context.Context, wrapped []byte, algorithm string) ([]byte, error)
	// KeyID is recorded as WrappedContentKey.KeyId and matched on decryption.
	KeyID() string
	// Algorithm is the JWA name recorded as WrappedContentKey.Algorithm.
	Algorithm() string
}

// KeyResolver finds the KEK for a key id recorded with encrypted data. It
// returns (nil, nil) when it has no such key.
type KeyResolver interface {
	ResolveKey(ctx context.Context, keyID string) (KeyEncryptionKey, error)
}

// KeyResolverFunc adapts a function to KeyResolver.
type KeyResolverFunc func(ctx context.Context, keyID string) (KeyEncryptionKey, error)

// ResolveKey calls f.
func (f KeyResolverFunc) ResolveKey(ctx context.Context, keyID string) (KeyEncryptionKey, error) {
	return f(ctx, keyID)
}

// KeyRing is a KeyResolver over a fixed set of KEKs, indexed by key id.
type KeyRing map[string]KeyEncryptionKey

// NewKeyRing indexes keks by their KeyID.
func NewKeyRing(keks ...KeyEncryptionKey) KeyRing {
	r := make(KeyRing, len(keks))
	for _, k := range keks {
		r[k.KeyID()] = k
	}
	return r
}

// ResolveKey returns the KEK with id keyID, or nil.
func (r KeyRing) ResolveKey(_ context.Context, keyID string) (KeyEncryptionKey, error) {
	return r[keyID], nil
}

// Key-wrap algorithm names (JWA / Key Vault), as recorded in the metadata.
const (
	A128KW     = "A128KW"
	A192KW     = "A192KW"
	A256KW     = "A256KW"
	RSAOAEP    = "RSA-OAEP"     // OAEP with SHA-1 and MGF1-SHA-1
	RSAOAEP256 = "RSA-OAEP-256" // OAEP with SHA-256 and MGF1-SHA-256
	RSA1_5     = "RSA1_5"       // PKCS #1 v1.5; unwrap only
	// legacyRSA is what old Python test helpers recorded for RSA-OAEP.
	legacyRSA = "RSA"
)

// canonicalAlgorithm maps legacy spellings to the JWA name a KEK understands.
func canonicalAlgorithm(alg string) string {
	if alg == legacyRSA {
		return RSAOAEP
	}
	return alg
}

// selectKEK implements the SDKs' key selection (spec §10): the configured KEK
// if its id matches, else the resolver, and the resolved KEK's id must match.
func selectKEK(ctx context.Context, kek KeyEncryptionKey, resolver KeyResolver, keyID string) (KeyEncryptionKey, error) {
	if kek != nil && kek.KeyID() == keyID {
		return kek, nil
	}
	if resolver == nil {
		if kek != nil {
			return nil, fmt.Errorf("%w: data names %q, the configured KEK is %q", ErrKeyNotFound, keyID, kek.KeyID())
		}
		return nil, fmt.Errorf("%w: no KEK or resolver configured", ErrKeyNotFound)
	}
	k, err := resolver.ResolveKey(ctx, keyID)
	if err != nil {
		return nil, fmt.Errorf("cse: resolving key %q: %w", keyID, err)
	}
	if k == nil {
		return nil, fmt.Errorf("%w: resolver has no key %q", ErrKeyNotFound, keyID)
	}
	if k.KeyID() != keyID {
		return nil, fmt.Errorf("%w: resolver returned %q for %q", ErrKeyNotFound, k.KeyID(), keyID)
	}
	return k, nil
}
