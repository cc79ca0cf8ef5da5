package keyvault

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"math/big"
	"strings"

	"github.com/atrest/atrest/internal/keywrap"
)

// The cryptographic operations of a key version. Every random value comes
// from crypto/rand. Errors are *Error values safe to show the caller: they
// name the problem, never key material.

func rsaHash(alg string) (func() hash.Hash, bool) {
	switch alg {
	case "RSA-OAEP":
		return sha1.New, true
	case "RSA-OAEP-256":
		return sha256.New, true
	}
	return nil, false
}

// rsaEncrypt serves encrypt and wrapKey with an RSA key.
func (k *keyVersion) rsaEncrypt(alg string, msg []byte) ([]byte, *Error) {
	var out []byte
	var err error
	if h, ok := rsaHash(alg); ok {
		out, err = rsa.EncryptOAEP(h(), rand.Reader, &k.rsa.PublicKey, msg, nil)
	} else if alg == "RSA1_5" {
		out, err = rsa.EncryptPKCS1v15(rand.Reader, &k.rsa.PublicKey, msg)
	} else {
		return nil, badParameter("Algorithm %q is not valid for an RSA key; use RSA-OAEP, RSA-OAEP-256 or RSA1_5.", alg)
	}
	if err != nil {
		return nil, badParameter("The value is too long for this key and algorithm.")
	}
	return out, nil
}

// rsaDecrypt serves decrypt and unwrapKey with an RSA key.
func (k *keyVersion) rsaDecrypt(alg string, ct []byte) ([]byte, *Error) {
	var out []byte
	var err error
	if h, ok := rsaHash(alg); ok {
		out, err = rsa.DecryptOAEP(h(), nil, k.rsa, ct, nil)
	} else if alg == "RSA1_5" {
		out, err = rsa.DecryptPKCS1v15(nil, k.rsa, ct)
	} else {
		return nil, badParameter("Algorithm %q is not valid for an RSA key; use RSA-OAEP, RSA-OAEP-256 or RSA1_5.", alg)
	}
	if err != nil {
		return nil, badParameter("The ciphertext could not be decrypted with this key and algorithm.")
	}
	return out, nil
}

// aesBits is the key size an AES algorithm name calls for (A256KW -> 256).
func aesBits(alg string) int {
	switch {
	case strings.HasPrefix(alg, "A128"):
		return 128
	case strings.HasPrefix(alg, "A192"):
		return 192
	case strings.HasPrefix(alg, "A256"):
		return 256
	}
	return 0
}

func (k *keyVersion) aesBlock(alg, mode string) (cipher.Block, *Error) {
	bits := aesBits(alg)
	if bits == 0 || alg[4:] != mode {
		return nil, badParameter("Algorithm %q is not valid for this operation on a symmetric key.", alg)
	}
	if bits != k.oct.Len()*8 {
		return nil, badParameter("Algorithm %s needs a %d-bit key; this key has %d bits.", alg, bits, k.oct.Len()*8)
	}
	b, err := aes.NewCipher(k.oct.Bytes())
	if err != nil {
		return nil, errInternal
	}
	return b, nil
}

func aesMode(alg string) string {
	if len(alg) > 4 {
		return alg[4:]
	}
	return ""
}

// octEncrypt serves encrypt with AES-GCM, AES-CBC and AES-CBC with PKCS#7
// padding. GCM nonces are always drawn here; a CBC IV may come from the
// caller (as the SDKs allow) or is drawn here.
func (k *keyVersion) octEncrypt(p *keyOpParams) (*keyOpResult, *Error) {
	mode := aesMode(p.Alg)
	b, e := k.aesBlock(p.Alg, mode)
	if e != nil {
		return nil, e
	}
	switch mode {
	case "GCM":
		if len(p.IV) != 0 {
			return nil, badParameter("The service draws the IV for AES-GCM; do not send one.")
		}
		g, _ := cipher.NewGCM(b)
		iv := make([]byte, g.NonceSize())
		if _, err := rand.Read(iv); err != nil {
			return nil, errInternal
		}
		sealed := g.Seal(nil, iv, p.Value, p.AAD)
		n := len(sealed) - g.Overhead()
		return &keyOpResult{Value: sealed[:n], IV: iv, Tag: sealed[n:], AAD: p.AAD}, nil
	case "CBC", "CBCPAD":
		iv := []byte(p.IV)
		if len(iv) == 0 {
			iv = make([]byte, aes.BlockSize)
			if _, err := rand.Read(iv); err != nil {
				return nil, errInternal
			}
		} else if len(iv) != aes.BlockSize {
			return nil, badParameter("The IV must be 16 bytes.")
		}
		msg := p.Value
		if mode == "CBCPAD" {
			pad := aes.BlockSize - len(msg)%aes.BlockSize
			msg = append(append([]byte(nil), msg...), bytes.Repeat([]byte{byte(pad)}, pad)...)
		} else if len(msg)%aes.BlockSize != 0 || len(msg) == 0 {
			return nil, badParameter("AES-CBC without padding needs a whole number of 16-byte blocks; use %sPAD.", p.Alg)
		}
		out := make([]byte, len(msg))
		cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, msg)
		return &keyOpResult{Value: out, IV: iv}, nil
	}
	return nil, badParameter("Algorithm %q is not valid for encryption with a symmetric key; use A*GCM, A*CBC or A*CBCPAD.", p.Alg)
}

func (k *keyVersion) octDecrypt(p *keyOpParams) ([]byte, *Error) {
	mode := aesMode(p.Alg)
	b, e := k.aesBlock(p.Alg, mode)
	if e != nil {
		return nil, e
	}
	switch mode {
	case "GCM":
		g, _ := cipher.NewGCM(b)
		if len(p.IV) != g.NonceSize() || len(p.Tag) != g.Overhead() {
			return nil, badParameter("AES-GCM decryption needs the 12-byte iv and 16-byte tag from encryption.")
		}
		out, err := g.Open(nil, p.IV, append(append([]byte(nil), p.Value...), p.Tag...), p.AAD)
		if err != nil {
			return nil, badParameter("The ciphertext, iv, tag or aad does not authenticate.")
		}
		return out, nil
	case "CBC", "CBCPAD":
		if len(p.IV) != aes.BlockSize {
			return nil, badParameter("AES-CBC decryption needs the 16-byte iv from encryption.")
		}
		if len(p.Value) == 0 || len(p.Value)%aes.BlockSize != 0 {
			return nil, badParameter("The ciphertext is not a whole number of 16-byte blocks.")
		}
		out := make([]byte, len(p.Value))
		cipher.NewCBCDecrypter(b, p.IV).CryptBlocks(out, p.Value)
		if mode == "CBCPAD" {
			n, ok := unpad(out)
			if !ok {
				return nil, badParameter("The ciphertext does not decrypt to validly padded data.")
			}
			out = out[:n]
		}
		return out, nil
	}
	return nil, badParameter("Algorithm %q is not valid for decryption with a symmetric key.", p.Alg)
}

// unpad checks PKCS#7 padding in constant time and returns the data length.
func unpad(b []byte) (int, bool) {
	pad := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	for i := 1; i <= aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, pad)
		eq := subtle.ConstantTimeByteEq(b[len(b)-i], byte(pad))
		good &= eq | (inPad ^ 1)
	}
	return len(b) - pad, good == 1
}

// octWrap serves wrapKey/unwrapKey with RFC 3394 AES key wrap.
func (k *keyVersion) octWrap(alg string, v []byte, unwrap bool) ([]byte, *Error) {
	if _, e := k.aesBlock(alg, "KW"); e != nil {
		return nil, e
	}
	if unwrap {
		out, err := keywrap.Unwrap(k.oct.Bytes(), v)
		if err != nil {
			return nil, badParameter("The wrapped key does not unwrap with this key.")
		}
		return out, nil
	}
	out, err := keywrap.Wrap(k.oct.Bytes(), v)
	if err != nil {
		return nil, badParameter("The key to wrap must be a multiple of 8 bytes and at least 16 bytes.")
	}
	return out, nil
}

// sigHash maps a signature algorithm to its hash and key family.
func sigHash(alg string) (crypto.Hash, string, bool) {
	var h crypto.Hash
	switch alg[len(alg)-3:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	default:
		return 0, "", false
	}
	switch alg[:2] {
	case "RS", "PS":
		return h, "RSA", len(alg) == 5
	case "ES":
		return h, "EC", len(alg) == 5
	}
	return 0, "", false
}

var esCurve = map[string]string{"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}

func (k *keyVersion) checkSigAlg(alg string, digest []byte) (crypto.Hash, *Error) {
	if len(alg) < 5 {
		return 0, badParameter("Unknown signature algorithm %q.", alg)
	}
	h, fam, ok := sigHash(alg)
	if !ok || fam != baseType(k.rec.Kty) {
		return 0, badParameter("Algorithm %q is not valid for a %s key.", alg, k.rec.Kty)
	}
	if fam == "EC" && esCurve[alg] != k.rec.Curve {
		return 0, badParameter("Algorithm %s needs curve %s; this key is on %s.", alg, esCurve[alg], k.rec.Curve)
	}
	if len(digest) != h.Size() {
		return 0, badParameter("The digest for %s must be %d bytes, not %d.", alg, h.Size(), len(digest))
	}
	return h, nil
}

func (k *keyVersion) sign(alg string, digest []byte) ([]byte, *Error) {
	h, e := k.checkSigAlg(alg, digest)
	if e != nil {
		return nil, e
	}
	switch {
	case strings.HasPrefix(alg, "RS"):
		s, err := rsa.SignPKCS1v15(nil, k.rsa, h, digest)
		if err != nil {
			return nil, errInternal
		}
		return s, nil
	case strings.HasPrefix(alg, "PS"):
		s, err := rsa.SignPSS(rand.Reader, k.rsa, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			return nil, errInternal
		}
		return s, nil
	}
	r, s, err := ecdsa.Sign(rand.Reader, k.ec, digest)
	if err != nil {
		return nil, errInternal
	}
	n := (k.ec.Curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*n)
	r.FillBytes(out[:n])
	s.FillBytes(out[n:])
	return out, nil
}

func (k *keyVersion) verify(alg string, digest, sig []byte) (bool, *Error) {
	h, e := k.checkSigAlg(alg, digest)
	if e != nil {
		return false, e
	}
	switch {
	case strings.HasPrefix(alg, "RS"):
		return rsa.VerifyPKCS1v15(&k.rsa.PublicKey, h, digest, sig) == nil, nil
	case strings.HasPrefix(alg, "PS"):
		return rsa.VerifyPSS(&k.rsa.PublicKey, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil, nil
	}
	n := (k.ec.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*n {
		return false, nil
	}
	r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
	return ecdsa.Verify(&k.ec.PublicKey, digest, r, s), nil
}
