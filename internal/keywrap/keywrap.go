// Package keywrap implements the AES key wrap of RFC 3394 (JWA names A128KW,
// A192KW and A256KW) with the default initial value A6A6A6A6A6A6A6A6.
//
// Wrap turns n ≥ 2 64-bit blocks of key material into n+1 blocks; Unwrap
// reverses it and checks the integrity value in constant time. This is the
// wrap Azure Key Vault and the Azure Storage client-side encryption SDKs use
// for symmetric key-encryption keys. The padded variant (RFC 5649) is not
// implemented: every payload the storage SDKs wrap is a multiple of 8 bytes.
package keywrap

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// DefaultIV is the RFC 3394 §2.2.3.1 default initial value.
var DefaultIV = [8]byte{0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6}

var (
	// ErrKeySize reports a KEK that is not 16, 24 or 32 bytes.
	ErrKeySize = errors.New("keywrap: key-encryption key must be 16, 24 or 32 bytes")
	// ErrInputSize reports input that is not a multiple of 8 bytes or too short.
	ErrInputSize = errors.New("keywrap: input must be a multiple of 8 bytes, at least 16 (wrap) or 24 (unwrap)")
	// ErrIntegrity reports a failed integrity check: wrong KEK or altered input.
	ErrIntegrity = errors.New("keywrap: integrity check failed")
)

// Wrap wraps plaintext (a multiple of 8 bytes, at least 16) under kek and
// returns len(plaintext)+8 bytes.
func Wrap(kek, plaintext []byte) ([]byte, error) {
	block, err := newCipher(kek)
	if err != nil {
		return nil, err
	}
	if len(plaintext) < 16 || len(plaintext)%8 != 0 {
		return nil, ErrInputSize
	}
	n := len(plaintext) / 8
	out := make([]byte, 8+len(plaintext))
	copy(out[8:], plaintext) // out[8:] holds R[1..n]
	var a, b [16]byte
	copy(a[:8], DefaultIV[:])
	for j := 0; j < 6; j++ {
		for i := 1; i <= n; i++ {
			copy(a[8:], out[8*i:8*i+8])
			block.Encrypt(b[:], a[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a[:8], binary.BigEndian.Uint64(b[:8])^t)
			copy(out[8*i:8*i+8], b[8:])
		}
	}
	copy(out[:8], a[:8])
	return out, nil
}

// Unwrap reverses Wrap. Any change to ciphertext or a wrong kek yields
// ErrIntegrity; no partial plaintext is returned.
func Unwrap(kek, ciphertext []byte) ([]byte, error) {
	block, err := newCipher(kek)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) < 24 || len(ciphertext)%8 != 0 {
		return nil, ErrInputSize
	}
	n := len(ciphertext)/8 - 1
	r := make([]byte, len(ciphertext)) // r[8:] holds R[1..n]; r[:8] is scratch
	copy(r, ciphertext)
	var a, b [16]byte
	copy(a[:8], ciphertext[:8])
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a[:8], binary.BigEndian.Uint64(a[:8])^t)
			copy(a[8:], r[8*i:8*i+8])
			block.Decrypt(b[:], a[:])
			copy(a[:8], b[:8])
			copy(r[8*i:8*i+8], b[8:])
		}
	}
	if subtle.ConstantTimeCompare(a[:8], DefaultIV[:]) != 1 {
		clear(r)
		return nil, ErrIntegrity
	}
	out := make([]byte, 8*n)
	copy(out, r[8:])
	clear(r)
	return out, nil
}

func newCipher(kek []byte) (interface {
	Encrypt(dst, src []byte)
	Decrypt(dst, src []byte)
}, error) {
	switch len(kek) {
	case 16, 24, 32:
		return aes.NewCipher(kek)
	}
	return nil, ErrKeySize
}
