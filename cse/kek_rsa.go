package cse

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // crypto.SHA1 for RSA-OAEP
	_ "crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// RSAKEK is a local RSA KEK. It wraps with RSA-OAEP or RSA-OAEP-256 and
// unwraps RSA-OAEP, RSA-OAEP-256, RSA1_5 (legacy data only) and the legacy
// name "RSA" (= RSA-OAEP). Built from a public key only, it can wrap but not
// unwrap, which suits a producer that must never read back.
type RSAKEK struct {
	kid  string
	alg  string
	pub  *rsa.PublicKey
	priv rsaPrivate
}

// rsaPrivate keeps the private key in a closure (see secret) with
// redacting printers.
type rsaPrivate struct{ get func() *rsa.PrivateKey }

func newRSAPrivate(k *rsa.PrivateKey) rsaPrivate {
	return rsaPrivate{get: func() *rsa.PrivateKey { return k }}
}

// key returns the private key, or nil for a public-only KEK.
func (p rsaPrivate) key() *rsa.PrivateKey {
	if p.get == nil {
		return nil
	}
	return p.get()
}

func (rsaPrivate) String() string               { return redacted }
func (rsaPrivate) GoString() string             { return redacted }
func (rsaPrivate) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (rsaPrivate) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// NewRSAKEK makes a KEK from a private key. alg is RSA-OAEP or RSA-OAEP-256
// (the wrap algorithm); "" means RSA-OAEP-256.
func NewRSAKEK(kid string, key *rsa.PrivateKey, alg string) (*RSAKEK, error) {
	if key == nil {
		return nil, errors.New("cse: nil RSA key")
	}
	k, err := NewRSAPublicKEK(kid, &key.PublicKey, alg)
	if err != nil {
		return nil, err
	}
	k.priv = newRSAPrivate(key)
	return k, nil
}

// NewRSAPublicKEK makes a wrap-only KEK from a public key.
func NewRSAPublicKEK(kid string, key *rsa.PublicKey, alg string) (*RSAKEK, error) {
	if key == nil {
		return nil, errors.New("cse: nil RSA key")
	}
	if alg == "" {
		alg = RSAOAEP256
	}
	if alg != RSAOAEP && alg != RSAOAEP256 {
		return nil, fmt.Errorf("%w: RSA KEKs wrap with %s or %s, not %q", ErrUnsupported, RSAOAEP, RSAOAEP256, alg)
	}
	if key.N.BitLen() < 2048 {
		return nil, fmt.Errorf("cse: RSA KEK must be at least 2048 bits, got %d", key.N.BitLen())
	}
	return &RSAKEK{kid: kid, alg: alg, pub: key}, nil
}

// ParseRSAKEK reads a PEM block: a private key (PKCS #1 "RSA PRIVATE KEY" or
// PKCS #8 "PRIVATE KEY") or, for a wrap-only KEK, a public key ("PUBLIC KEY"
// or "RSA PUBLIC KEY").
func ParseRSAKEK(kid string, pemData []byte, alg string) (*RSAKEK, error) {
	block, _ := pem.Decode(pemData)
	if block == nil {
		return nil, errors.New("cse: no PEM block found")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("cse: parsing RSA private key: %w", err)
		}
		return NewRSAKEK(kid, key, alg)
	case "PRIVATE KEY":
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("cse: parsing PKCS #8 key: %w", err)
		}
		rk, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("cse: PKCS #8 key is %T, not RSA", key)
		}
		return NewRSAKEK(kid, rk, alg)
	case "PUBLIC KEY":
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("cse: parsing public key: %w", err)
		}
		rk, ok := key.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("cse: public key is %T, not RSA", key)
		}
		return NewRSAPublicKEK(kid, rk, alg)
	case "RSA PUBLIC KEY":
		key, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("cse: parsing RSA public key: %w", err)
		}
		return NewRSAPublicKEK(kid, key, alg)
	}
	return nil, fmt.Errorf("cse: unsupported PEM block %q", block.Type)
}

// KeyID implements KeyEncryptionKey.
func (k *RSAKEK) KeyID() string { return k.kid }

// Algorithm implements KeyEncryptionKey.
func (k *RSAKEK) Algorithm() string { return k.alg }

// CanUnwrap reports whether the KEK holds a private key.
func (k *RSAKEK) CanUnwrap() bool { return k.priv.key() != nil }

// WrapKey implements KeyEncryptionKey.
func (k *RSAKEK) WrapKey(_ context.Context, cek []byte) ([]byte, error) {
	return rsa.EncryptOAEP(oaepHash(k.alg).New(), rand.Reader, k.pub, cek, nil)
}

// UnwrapKey implements KeyEncryptionKey.
func (k *RSAKEK) UnwrapKey(_ context.Context, wrapped []byte, algorithm string) ([]byte, error) {
	if k.priv.key() == nil {
		return nil, fmt.Errorf("cse: key %q is public only and cannot unwrap", k.kid)
	}
	var out []byte
	var err error
	switch canonicalAlgorithm(algorithm) {
	case RSAOAEP, RSAOAEP256:
		out, err = rsa.DecryptOAEP(oaepHash(canonicalAlgorithm(algorithm)).New(), nil, k.priv.key(), wrapped, nil)
	case RSA1_5:
		out, err = rsa.DecryptPKCS1v15(nil, k.priv.key(), wrapped) //nolint:staticcheck // legacy data only; never written
	default:
		return nil, fmt.Errorf("%w: RSA key %q cannot unwrap %q", ErrUnsupported, k.kid, algorithm)
	}
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}

func oaepHash(alg string) crypto.Hash {
	if alg == RSAOAEP {
		return crypto.SHA1
	}
	return crypto.SHA256
}

// String names the key without its material.
func (k *RSAKEK) String() string {
	kind := "private"
	if k.priv.key() == nil {
		kind = "public"
	}
	return fmt.Sprintf("cse.RSAKEK(%s, %d-bit %s, %q)", k.alg, k.pub.N.BitLen(), kind, k.kid)
}

// GoString names the key without its material.
func (k *RSAKEK) GoString() string { return k.String() }

// Format prints String for every verb.
func (k *RSAKEK) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// MarshalJSON describes the key without its material.
func (k *RSAKEK) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"kid":%q,"alg":%q,"d":%q}`, k.kid, k.alg, redacted)), nil
}
