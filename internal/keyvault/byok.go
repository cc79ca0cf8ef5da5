package keyvault

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/atrest/atrest/internal/secret"
)

// Bring your own key: the target key arrives in a transfer blob made by an
// HSM vendor's tool, encrypted to a key exchange key (KEK) of this vault,
// an RSA key whose only operation is "import". The blob is JSON
//
//	{"schema_version":"1.0.0","header":{"kid":KEK id,"alg":"dir","enc":"CKM_RSA_AES_KEY_WRAP"},"ciphertext":…}
//
// whose ciphertext is RSA-OAEP(SHA-1) of an ephemeral AES-256 key followed
// by AES-KWP of the target key (PKCS#8 for RSA and EC, raw bytes for oct).
type transferBlob struct {
	SchemaVersion string `json:"schema_version"`
	Header        struct {
		KID string `json:"kid"`
		Alg string `json:"alg"`
		Enc string `json:"enc"`
	} `json:"header"`
	Ciphertext b64    `json:"ciphertext"`
	Generator  string `json:"generator"`
}

// fromTransferBlob opens a BYOK blob with the KEK it names.
func (s *Service) fromTransferBlob(o *op, blob []byte, kty string) (*keyVersion, *Error) {
	var tb transferBlob
	if err := json.Unmarshal(blob, &tb); err != nil {
		return nil, badParameter("key_hsm is not a BYOK transfer blob: %v.", err)
	}
	defer clear(tb.Ciphertext)
	if !strings.EqualFold(tb.Header.Enc, "CKM_RSA_AES_KEY_WRAP") || !strings.EqualFold(tb.Header.Alg, "dir") {
		return nil, badParameter("The transfer blob must use alg \"dir\" and enc \"CKM_RSA_AES_KEY_WRAP\".")
	}
	var parts []string
	if u, err := url.Parse(tb.Header.KID); err == nil {
		parts = strings.Split(strings.Trim(u.Path, "/"), "/")
	}
	if len(parts) != 3 || parts[0] != "keys" || !validKeyName(parts[1]) || !validVersion(parts[2]) {
		return nil, badParameter("The transfer blob's kid must name a key exchange key version of this vault.")
	}
	kekOp := *o
	kekOp.key = parts[1]
	_, kek, e := s.loadVersion(&kekOp, strings.ToLower(parts[2]))
	if e != nil {
		return nil, badParameter("The key exchange key %s/%s was not found in this vault.", parts[1], parts[2])
	}
	if kek.rsa == nil || !slices.Equal(kek.rec.Ops, []string{"import"}) {
		return nil, badParameter("The key exchange key must be an RSA key whose only operation is import.")
	}
	if e := s.usableForImport(kek); e != nil {
		return nil, e
	}
	n := kek.rsa.Size()
	if len(tb.Ciphertext) <= n+8 {
		return nil, badParameter("The transfer blob's ciphertext is too short.")
	}
	aesKey, err := rsa.DecryptOAEP(sha1.New(), nil, kek.rsa, tb.Ciphertext[:n], nil)
	if err != nil || len(aesKey) != 32 {
		return nil, badParameter("The transfer blob was not made for this key exchange key.")
	}
	defer clear(aesKey)
	plain, err := kwpUnwrap(aesKey, tb.Ciphertext[n:])
	if err != nil {
		return nil, badParameter("The transfer blob's target key does not unwrap.")
	}
	defer clear(plain)
	k := &keyVersion{rec: versionRecord{Kty: kty}}
	switch baseType(kty) {
	case "oct":
		if l := len(plain); l != 16 && l != 24 && l != 32 {
			return nil, badParameter("A symmetric target key must be 128, 192 or 256 bits.")
		}
		k.oct, k.rec.Size = secret.New(plain), len(plain)*8
		return k, nil
	}
	priv, err := x509.ParsePKCS8PrivateKey(plain)
	if err != nil {
		return nil, badParameter("The target key is not a PKCS#8 private key.")
	}
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		if baseType(kty) != "RSA" {
			return nil, badParameter("The target key is RSA but kty is %s.", kty)
		}
		if b := p.N.BitLen(); b != 2048 && b != 3072 && b != 4096 {
			return nil, badParameter("RSA key size %d is not supported.", b)
		}
		p.Precompute()
		k.rsa, k.rec.Size = p, p.N.BitLen()
	case *ecdsa.PrivateKey:
		if baseType(kty) != "EC" {
			return nil, badParameter("The target key is EC but kty is %s.", kty)
		}
		name := p.Curve.Params().Name
		if _, ok := curves[name]; !ok {
			return nil, badParameter("Curve %s is not supported.", name)
		}
		k.ec, k.rec.Curve = p, name
	default:
		return nil, badParameter("The target key type is not supported.")
	}
	return k, nil
}

func (s *Service) usableForImport(kek *keyVersion) *Error {
	now := s.now()
	if !kek.rec.Enabled || (kek.rec.Expires != nil && !now.Before(*kek.rec.Expires)) || (kek.rec.NotBefore != nil && now.Before(*kek.rec.NotBefore)) {
		return forbidden("The key exchange key is disabled, expired or not yet valid.")
	}
	return nil
}

func (s *Service) importKey(o *op, body []byte) (any, error) {
	var p importParams
	if e := decode(body, &p); e != nil {
		return nil, e
	}
	if p.Key == nil {
		return nil, badParameter("The key field is required.")
	}
	defer p.Key.wipe()
	if len(p.ReleasePolicy) > 0 && string(p.ReleasePolicy) != "null" {
		return nil, badParameter("Release policies are not supported by this server.")
	}
	kty, e := normKty(p.Key.Kty)
	if e != nil {
		return nil, e
	}
	if p.HSM != nil && *p.HSM && !strings.HasSuffix(kty, "-HSM") {
		kty += "-HSM"
	}
	o.alg = kty
	ops, e := checkOps(kty, p.Key.KeyOps)
	if e != nil {
		return nil, e
	}
	if e := checkTags(p.Tags); e != nil {
		return nil, e
	}
	var k *keyVersion
	if len(p.Key.T) > 0 {
		if !strings.HasSuffix(kty, "-HSM") {
			return nil, badParameter("A BYOK transfer blob imports an -HSM key type (RSA-HSM, EC-HSM or oct-HSM).")
		}
		k, e = s.fromTransferBlob(o, p.Key.T, kty)
	} else {
		k, e = fromJWK(p.Key, kty)
	}
	if e != nil {
		return nil, e
	}
	return s.storeNew(o, k, ops, p.Attributes, p.Tags)
}
