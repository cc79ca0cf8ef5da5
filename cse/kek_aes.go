package cse

import (
	"context"
	"errors"
	"fmt"

	"github.com/atrest/atrest/internal/keywrap"
)

// AESKEK is a local symmetric KEK using the RFC 3394 AES key wrap. The
// algorithm follows from the key size: A128KW, A192KW or A256KW.
type AESKEK struct {
	kid string
	alg string
	key secret
}

// NewAESKEK copies key (16, 24 or 32 bytes) into a KEK named kid.
func NewAESKEK(kid string, key []byte) (*AESKEK, error) {
	var alg string
	switch len(key) {
	case 16:
		alg = A128KW
	case 24:
		alg = A192KW
	case 32:
		alg = A256KW
	default:
		return nil, fmt.Errorf("cse: AES KEK must be 16, 24 or 32 bytes, got %d", len(key))
	}
	return &AESKEK{kid: kid, alg: alg, key: newSecret(key)}, nil
}

// KeyID implements KeyEncryptionKey.
func (k *AESKEK) KeyID() string { return k.kid }

// Algorithm implements KeyEncryptionKey.
func (k *AESKEK) Algorithm() string { return k.alg }

// WrapKey implements KeyEncryptionKey.
func (k *AESKEK) WrapKey(_ context.Context, cek []byte) ([]byte, error) {
	return keywrap.Wrap(k.key.bytes(), cek)
}

// UnwrapKey implements KeyEncryptionKey. The algorithm must be this key's.
func (k *AESKEK) UnwrapKey(_ context.Context, wrapped []byte, algorithm string) ([]byte, error) {
	if algorithm != k.alg {
		return nil, fmt.Errorf("%w: key %q does %s, data was wrapped with %q", ErrUnsupported, k.kid, k.alg, algorithm)
	}
	out, err := keywrap.Unwrap(k.key.bytes(), wrapped)
	if errors.Is(err, keywrap.ErrIntegrity) || errors.Is(err, keywrap.ErrInputSize) {
		return nil, ErrDecrypt
	}
	return out, err
}

// String names the key without its bytes.
func (k *AESKEK) String() string { return fmt.Sprintf("cse.AESKEK(%s, %q)", k.alg, k.kid) }

// GoString names the key without its bytes.
func (k *AESKEK) GoString() string { return k.String() }

// Format prints String for every verb, so no verb reaches the key bytes.
func (k *AESKEK) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// MarshalJSON describes the key without its bytes.
func (k *AESKEK) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"kid":%q,"alg":%q,"k":%q}`, k.kid, k.alg, redacted)), nil
}
