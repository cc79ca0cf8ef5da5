package keyvault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// AES key wrap with padding (RFC 5649), which BYOK transfer blobs use
// (PKCS#11 CKM_AES_KEY_WRAP_PAD) to carry the target key.

var kwpAIV = [4]byte{0xA6, 0x59, 0x59, 0xA6}

var errKWP = errors.New("keyvault: AES-KWP integrity check failed")

// kwpWrap wraps any non-empty plaintext under kek.
func kwpWrap(kek, plain []byte) ([]byte, error) {
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	if len(plain) == 0 || len(plain) > 1<<31 {
		return nil, errors.New("keyvault: AES-KWP input must be 1 byte to 2 GiB")
	}
	var iv [8]byte
	copy(iv[:4], kwpAIV[:])
	binary.BigEndian.PutUint32(iv[4:], uint32(len(plain)))
	padded := make([]byte, (len(plain)+7)/8*8)
	copy(padded, plain)
	defer clear(padded)
	if len(padded) == 8 {
		out := make([]byte, 16)
		copy(out, iv[:])
		copy(out[8:], padded)
		b.Encrypt(out, out)
		return out, nil
	}
	return wrapWithIV(b, iv, padded), nil
}

// kwpUnwrap reverses kwpWrap, checking the integrity value and padding.
func kwpUnwrap(kek, wrapped []byte) ([]byte, error) {
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	if len(wrapped) < 16 || len(wrapped)%8 != 0 {
		return nil, errKWP
	}
	var a [8]byte
	var p []byte
	if len(wrapped) == 16 {
		out := make([]byte, 16)
		b.Decrypt(out, wrapped)
		copy(a[:], out[:8])
		p = out[8:]
	} else {
		a, p = unwrapWithIV(b, wrapped)
	}
	mli := binary.BigEndian.Uint32(a[4:])
	ok := subtle.ConstantTimeCompare(a[:4], kwpAIV[:])
	n := len(p)
	if ok != 1 || int(mli) > n || int(mli) <= n-8 {
		clear(p)
		return nil, errKWP
	}
	var pad byte
	for _, c := range p[mli:] {
		pad |= c
	}
	if pad != 0 {
		clear(p)
		return nil, errKWP
	}
	return p[:mli], nil
}

// wrapWithIV is the RFC 3394 wrapping process W with a chosen initial value.
func wrapWithIV(b cipher.Block, iv [8]byte, plain []byte) []byte {
	n := len(plain) / 8
	out := make([]byte, 8+len(plain))
	copy(out[8:], plain)
	var buf [16]byte
	copy(buf[:8], iv[:])
	for j := 0; j < 6; j++ {
		for i := 1; i <= n; i++ {
			copy(buf[8:], out[8*i:8*i+8])
			b.Encrypt(buf[:], buf[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(buf[:8], binary.BigEndian.Uint64(buf[:8])^t)
			copy(out[8*i:8*i+8], buf[8:])
		}
	}
	copy(out[:8], buf[:8])
	return out
}

// unwrapWithIV is the RFC 3394 unwrapping process W⁻¹, returning the
// recovered initial value for the caller to check.
func unwrapWithIV(b cipher.Block, wrapped []byte) ([8]byte, []byte) {
	n := len(wrapped)/8 - 1
	r := make([]byte, n*8)
	copy(r, wrapped[8:])
	var buf [16]byte
	copy(buf[:8], wrapped[:8])
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(buf[:8], binary.BigEndian.Uint64(buf[:8])^t)
			copy(buf[8:], r[8*(i-1):8*i])
			b.Decrypt(buf[:], buf[:])
			copy(r[8*(i-1):8*i], buf[8:])
		}
	}
	var a [8]byte
	copy(a[:], buf[:8])
	return a, r
}
