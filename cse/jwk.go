package cse

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// jwk holds the RFC 7517 members ParseJWK reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	K   string `json:"k"`
	N   string `json:"n"`
	E   string `json:"e"`
	D   string `json:"d"`
	P   string `json:"p"`
	Q   string `json:"q"`
}

// ParseJWK builds a KEK from a JSON Web Key: "oct" (A128KW/A192KW/A256KW by
// key size) or "RSA" (with "d", "p", "q" for a private key; "n" and "e" only
// for a wrap-only key). "kid" becomes the key id; an RSA key's "alg" picks
// its wrap algorithm (default RSA-OAEP-256).
func ParseJWK(data []byte) (KeyEncryptionKey, error) {
	var j jwk
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("cse: parsing JWK: %w", err)
	}
	switch j.Kty {
	case "oct":
		k, err := b64url("k", j.K)
		if err != nil {
			return nil, err
		}
		kek, err := NewAESKEK(j.Kid, k)
		clear(k)
		if err != nil {
			return nil, err
		}
		if j.Alg != "" && j.Alg != kek.Algorithm() {
			return nil, fmt.Errorf("cse: JWK alg %q does not match a %d-byte key", j.Alg, len(kek.key.bytes()))
		}
		return kek, nil
	case "RSA":
		n, err := b64int("n", j.N)
		if err != nil {
			return nil, err
		}
		e, err := b64int("e", j.E)
		if err != nil {
			return nil, err
		}
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, fmt.Errorf("cse: JWK exponent out of range")
		}
		pub := rsa.PublicKey{N: n, E: int(e.Int64())}
		if j.D == "" {
			return NewRSAPublicKEK(j.Kid, &pub, j.Alg)
		}
		priv := &rsa.PrivateKey{PublicKey: pub}
		if priv.D, err = b64int("d", j.D); err != nil {
			return nil, err
		}
		p, err := b64int("p", j.P)
		if err != nil {
			return nil, err
		}
		q, err := b64int("q", j.Q)
		if err != nil {
			return nil, err
		}
		priv.Primes = []*big.Int{p, q}
		if err := priv.Validate(); err != nil {
			return nil, fmt.Errorf("cse: invalid RSA JWK: %w", err)
		}
		priv.Precompute()
		return NewRSAKEK(j.Kid, priv, j.Alg)
	}
	return nil, fmt.Errorf("%w: JWK kty %q", ErrUnsupported, j.Kty)
}

// b64url decodes base64url, with or without padding, as JWK members are.
func b64url(name, s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("cse: JWK member %q missing", name)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("cse: JWK member %q is not base64url", name)
	}
	return b, nil
}

func b64int(name, s string) (*big.Int, error) {
	b, err := b64url(name, s)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b), nil
}
