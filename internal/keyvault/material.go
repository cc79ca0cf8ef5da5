package keyvault

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/atrest/atrest/internal/secret"
)

// keyVersion is an opened key version: its record without the sealed bytes,
// and the parsed private key.
type keyVersion struct {
	rec versionRecord // Material is nil here
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
	oct secret.Key
}

// Key families.
func baseType(kty string) string { return strings.TrimSuffix(kty, "-HSM") }

var validKty = []string{"RSA", "RSA-HSM", "EC", "EC-HSM", "oct", "oct-HSM"}

var curves = map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}

// allOps are the key operations a key may allow.
var allOps = []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import"}

func defaultOps(kty string) []string {
	switch baseType(kty) {
	case "RSA":
		return []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}
	case "EC":
		return []string{"sign", "verify"}
	}
	return []string{"encrypt", "decrypt", "wrapKey", "unwrapKey"}
}

// checkOps validates requested key_ops for a key type, normalizing case.
func checkOps(kty string, ops []string) ([]string, *Error) {
	if ops == nil {
		return defaultOps(kty), nil
	}
	out := make([]string, 0, len(ops))
	for _, op := range ops {
		i := slices.IndexFunc(allOps, func(a string) bool { return strings.EqualFold(a, op) })
		if i < 0 {
			return nil, badParameter("Invalid key operation %q.", op)
		}
		norm := allOps[i]
		if baseType(kty) == "EC" && norm != "sign" && norm != "verify" && norm != "import" {
			return nil, badParameter("Key operation %q is not valid for an EC key.", norm)
		}
		if baseType(kty) == "oct" && (norm == "sign" || norm == "verify") {
			return nil, badParameter("Key operation %q is not valid for a symmetric key.", norm)
		}
		if !slices.Contains(out, norm) {
			out = append(out, norm)
		}
	}
	return out, nil
}

func normKty(kty string) (string, *Error) {
	for _, k := range validKty {
		if strings.EqualFold(k, kty) {
			return k, nil
		}
	}
	return "", badParameter("The kty %q is not supported; use RSA, RSA-HSM, EC, EC-HSM, oct or oct-HSM.", kty)
}

// generate draws new key material from crypto/rand.
func generate(kty string, size, pubExp int, curve string) (*keyVersion, *Error) {
	k := &keyVersion{rec: versionRecord{Kty: kty}}
	switch baseType(kty) {
	case "RSA":
		if size == 0 {
			size = 2048
		}
		if size != 2048 && size != 3072 && size != 4096 {
			return nil, badParameter("RSA key size %d is not supported; use 2048, 3072 or 4096.", size)
		}
		if pubExp != 0 && pubExp != 65537 {
			return nil, badParameter("Public exponent %d is not supported; only 65537 is.", pubExp)
		}
		priv, err := rsa.GenerateKey(rand.Reader, size)
		if err != nil {
			return nil, errInternal
		}
		k.rsa, k.rec.Size = priv, size
	case "EC":
		if curve == "" {
			curve = "P-256"
		}
		c, ok := curves[strings.ToUpper(curve)]
		if !ok {
			return nil, badParameter("Curve %q is not supported; use P-256, P-384 or P-521.", curve)
		}
		priv, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			return nil, errInternal
		}
		k.ec, k.rec.Curve = priv, c.Params().Name
	case "oct":
		if size == 0 {
			size = 256
		}
		if size != 128 && size != 192 && size != 256 {
			return nil, badParameter("AES key size %d is not supported; use 128, 192 or 256.", size)
		}
		key, err := secret.Random(size / 8)
		if err != nil {
			return nil, errInternal
		}
		k.oct, k.rec.Size = key, size
	}
	return k, nil
}

// marshalMaterial encodes the private key for sealing.
func (k *keyVersion) marshalMaterial() ([]byte, error) {
	switch {
	case k.rsa != nil:
		return x509.MarshalPKCS8PrivateKey(k.rsa)
	case k.ec != nil:
		return x509.MarshalPKCS8PrivateKey(k.ec)
	}
	return append([]byte(nil), k.oct.Bytes()...), nil
}

// openVersion parses a stored record's material.
func openVersion(rec versionRecord) (*keyVersion, error) {
	k := &keyVersion{rec: rec}
	k.rec.Material = nil
	switch baseType(rec.Kty) {
	case "RSA", "EC":
		p, err := x509.ParsePKCS8PrivateKey(rec.Material)
		if err != nil {
			return nil, fmt.Errorf("keyvault: stored key %s does not parse: %w", rec.Version, err)
		}
		switch p := p.(type) {
		case *rsa.PrivateKey:
			p.Precompute()
			k.rsa = p
		case *ecdsa.PrivateKey:
			k.ec = p
		default:
			return nil, fmt.Errorf("keyvault: stored key %s has an unexpected type", rec.Version)
		}
	default:
		k.oct = secret.New(rec.Material)
	}
	clear(rec.Material)
	return k, nil
}

// public is the key's JWK without private parts.
func (k *keyVersion) public(kid string) publicJWK {
	j := publicJWK{KID: kid, Kty: k.rec.Kty, KeyOps: k.rec.Ops}
	switch {
	case k.rsa != nil:
		j.N = k.rsa.N.Bytes()
		j.E = big.NewInt(int64(k.rsa.E)).Bytes()
	case k.ec != nil:
		n := (k.ec.Curve.Params().BitSize + 7) / 8
		j.Crv = k.rec.Curve
		j.X = k.ec.X.FillBytes(make([]byte, n))
		j.Y = k.ec.Y.FillBytes(make([]byte, n))
	}
	return j
}

// fromJWK builds a key from an imported JWK with private parts.
func fromJWK(j *importJWK, kty string) (*keyVersion, *Error) {
	k := &keyVersion{rec: versionRecord{Kty: kty}}
	switch baseType(kty) {
	case "RSA":
		if len(j.N) == 0 || len(j.E) == 0 || len(j.D) == 0 || len(j.P) == 0 || len(j.Q) == 0 {
			return nil, badParameter("An RSA key to import needs n, e, d, p and q.")
		}
		e := new(big.Int).SetBytes(j.E)
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, badParameter("The RSA public exponent is out of range.")
		}
		priv := &rsa.PrivateKey{
			PublicKey: rsa.PublicKey{N: new(big.Int).SetBytes(j.N), E: int(e.Int64())},
			D:         new(big.Int).SetBytes(j.D),
			Primes:    []*big.Int{new(big.Int).SetBytes(j.P), new(big.Int).SetBytes(j.Q)},
		}
		if err := priv.Validate(); err != nil {
			return nil, badParameter("The RSA key is not consistent: %v.", err)
		}
		priv.Precompute()
		size := priv.N.BitLen()
		if size != 2048 && size != 3072 && size != 4096 {
			return nil, badParameter("RSA key size %d is not supported; use 2048, 3072 or 4096.", size)
		}
		k.rsa, k.rec.Size = priv, size
	case "EC":
		c, ok := curves[strings.ToUpper(j.Crv)]
		if !ok {
			return nil, badParameter("Curve %q is not supported; use P-256, P-384 or P-521.", j.Crv)
		}
		priv, err := ecKeyFromD(c, j.D)
		if err != nil {
			return nil, badParameter("The EC private key is not valid: %v.", err)
		}
		if len(j.X) > 0 && (new(big.Int).SetBytes(j.X).Cmp(priv.X) != 0 || new(big.Int).SetBytes(j.Y).Cmp(priv.Y) != 0) {
			return nil, badParameter("The EC key's x and y do not match d.")
		}
		k.ec, k.rec.Curve = priv, c.Params().Name
	case "oct":
		switch len(j.K) {
		case 16, 24, 32:
		default:
			return nil, badParameter("A symmetric key must be 128, 192 or 256 bits.")
		}
		k.oct, k.rec.Size = secret.New(j.K), len(j.K)*8
	}
	return k, nil
}

// ecKeyFromD rebuilds an ECDSA key from its private scalar; the parser
// refuses zero and out-of-range scalars.
func ecKeyFromD(c elliptic.Curve, d []byte) (*ecdsa.PrivateKey, error) {
	n := (c.Params().BitSize + 7) / 8
	if len(d) == 0 || len(d) > n {
		return nil, fmt.Errorf("d has the wrong length")
	}
	padded := make([]byte, n)
	copy(padded[n-len(d):], d)
	defer clear(padded)
	return ecdsa.ParseRawPrivateKey(c, padded)
}
