package e2e

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// wantCode asserts an azcore error with the given status and code.
func kvWantCode(t testing.TB, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want %d %s, got %v", status, code, err)
	}
	if re.StatusCode != status || (code != "" && re.ErrorCode != code) {
		t.Fatalf("want %d %s, got %d %s", status, code, re.StatusCode, re.ErrorCode)
	}
}

// get turns a (value, error) call into a value, failing the test on error:
// get(client.Op(...))(t).
func get[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func rsaPublic(t testing.TB, k *azkeys.JSONWebKey) *rsa.PublicKey {
	t.Helper()
	if len(k.N) == 0 || len(k.E) == 0 || k.D != nil || k.P != nil || k.Q != nil {
		t.Fatalf("RSA key must carry n and e and nothing private")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(k.N), E: int(new(big.Int).SetBytes(k.E).Int64())}
}

func ecPublic(t testing.TB, k *azkeys.JSONWebKey) *ecdsa.PublicKey {
	t.Helper()
	curves := map[azkeys.CurveName]elliptic.Curve{azkeys.CurveNameP256: elliptic.P256(), azkeys.CurveNameP384: elliptic.P384(), azkeys.CurveNameP521: elliptic.P521()}
	c := curves[*k.Crv]
	n := (c.Params().BitSize + 7) / 8
	if len(k.X) != n || len(k.Y) != n || k.D != nil {
		t.Fatalf("EC key must carry %d-byte x and y and no d", n)
	}
	return &ecdsa.PublicKey{Curve: c, X: new(big.Int).SetBytes(k.X), Y: new(big.Int).SetBytes(k.Y)}
}

// TestKVGoKeys drives the official Go azkeys client with an azidentity
// ClientSecretCredential over HTTPS through every key type and
// cryptographic algorithm family, with the challenge resource verified
// (the vault is kv1.localhost:PORT, the resource https://localhost:PORT).
func TestKVGoKeys(t *testing.T) {
	ts := startServer(t)
	hc := kvTransport(t, ts.CAFile)
	adminDo(t, ts, "vault.create", map[string]any{"name": "kv1"}, nil)
	officer := newPrincipal(t, ts, "officer", "Key Vault Crypto Officer", "/vaults/kv1")
	kc := goKeyClient(t, vaultURL(ts, "kv1"), goCredential(t, ts, officer, hc), hc)
	c := ctx(t)

	type spec struct {
		name  string
		kty   azkeys.KeyType
		size  int32
		curve azkeys.CurveName
	}
	specs := []spec{
		{"rsa2048", azkeys.KeyTypeRSA, 2048, ""}, {"rsa3072", azkeys.KeyTypeRSA, 3072, ""}, {"rsa4096", azkeys.KeyTypeRSAHSM, 4096, ""},
		{"ec256", azkeys.KeyTypeEC, 0, azkeys.CurveNameP256}, {"ec384", azkeys.KeyTypeECHSM, 0, azkeys.CurveNameP384}, {"ec521", azkeys.KeyTypeEC, 0, azkeys.CurveNameP521},
		{"aes128", azkeys.KeyTypeOct, 128, ""}, {"aes192", azkeys.KeyTypeOctHSM, 192, ""}, {"aes256", azkeys.KeyTypeOct, 256, ""},
	}
	keys := map[string]*azkeys.JSONWebKey{}
	for _, s := range specs {
		p := azkeys.CreateKeyParameters{Kty: to.Ptr(s.kty), Tags: map[string]*string{"spec": to.Ptr(s.name)}}
		if s.size != 0 {
			p.KeySize = to.Ptr(s.size)
		}
		if s.curve != "" {
			p.Curve = to.Ptr(s.curve)
		}
		r := get(kc.CreateKey(c, s.name, p, nil))(t)
		k := r.Key
		if !strings.HasPrefix(string(*k.KID), vaultURL(ts, "kv1")+"/keys/"+s.name+"/") || len(k.KID.Version()) != 32 {
			t.Fatalf("%s: kid %s", s.name, *k.KID)
		}
		if *k.Kty != s.kty || *r.Attributes.Enabled != true || *r.Tags["spec"] != s.name {
			t.Fatalf("%s: bundle %+v", s.name, r.KeyBundle)
		}
		switch s.kty {
		case azkeys.KeyTypeRSA, azkeys.KeyTypeRSAHSM:
			if pub := rsaPublic(t, k); pub.N.BitLen() != int(s.size) || pub.E != 65537 {
				t.Fatalf("%s: modulus %d bits", s.name, pub.N.BitLen())
			}
		case azkeys.KeyTypeEC, azkeys.KeyTypeECHSM:
			ecPublic(t, k)
		default:
			if k.K != nil || k.N != nil || k.X != nil {
				t.Fatalf("%s: a symmetric key's bundle must carry no key material", s.name)
			}
		}
		keys[s.name] = k
	}

	t.Run("get", func(t *testing.T) {
		latest := get(kc.GetKey(c, "rsa2048", "", nil))(t) // GET /keys/rsa2048/ (trailing slash)
		byVersion := get(kc.GetKey(c, "rsa2048", keys["rsa2048"].KID.Version(), nil))(t)
		if *latest.Key.KID != *keys["rsa2048"].KID || *byVersion.Key.KID != *latest.Key.KID {
			t.Fatalf("latest %s, by version %s", *latest.Key.KID, *byVersion.Key.KID)
		}
		_, err := kc.GetKey(c, "nope", "", nil)
		kvWantCode(t, err, http.StatusNotFound, "KeyNotFound")
		_, err = kc.GetKey(c, "rsa2048", strings.Repeat("0", 32), nil)
		kvWantCode(t, err, http.StatusNotFound, "KeyNotFound")
	})

	t.Run("rsa", func(t *testing.T) {
		for _, name := range []string{"rsa2048", "rsa3072", "rsa4096"} {
			k := keys[name]
			pub := rsaPublic(t, k)
			v := k.KID.Version()
			cek := make([]byte, 32)
			rand.Read(cek)
			for _, alg := range []azkeys.EncryptionAlgorithm{azkeys.EncryptionAlgorithmRSAOAEP, azkeys.EncryptionAlgorithmRSAOAEP256, azkeys.EncryptionAlgorithmRSA15} {
				w := get(kc.WrapKey(c, name, v, azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: cek}, nil))(t)
				if *w.KID != *k.KID || len(w.Result) != pub.Size() {
					t.Fatalf("%s %s: wrap result kid %s len %d", name, alg, *w.KID, len(w.Result))
				}
				u := get(kc.UnwrapKey(c, name, v, azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: w.Result}, nil))(t)
				e := get(kc.Encrypt(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: []byte("secret " + string(alg))}, nil))(t)
				d := get(kc.Decrypt(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: e.Result}, nil))(t)
				if !bytes.Equal(u.Result, cek) || string(d.Result) != "secret "+string(alg) {
					t.Fatalf("%s %s: round trip failed", name, alg)
				}
			}
			// Wrapped locally with the public key, unwrapped by the vault.
			local, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, cek, nil)
			u := get(kc.UnwrapKey(c, name, v, azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: local}, nil))(t)
			if !bytes.Equal(u.Result, cek) {
				t.Fatalf("%s: local wrap does not unwrap", name)
			}
			_, err := kc.UnwrapKey(c, name, v, azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: append(local[:len(local)-1], local[len(local)-1]^1)}, nil)
			kvWantCode(t, err, http.StatusBadRequest, "BadParameter")
			for _, alg := range []azkeys.SignatureAlgorithm{azkeys.SignatureAlgorithmRS256, azkeys.SignatureAlgorithmRS384, azkeys.SignatureAlgorithmRS512,
				azkeys.SignatureAlgorithmPS256, azkeys.SignatureAlgorithmPS384, azkeys.SignatureAlgorithmPS512} {
				h := map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}[string(alg)[2:]]
				hh := h.New()
				hh.Write([]byte("message for " + string(alg)))
				digest := hh.Sum(nil)
				s := get(kc.Sign(c, name, v, azkeys.SignParameters{Algorithm: to.Ptr(alg), Value: digest}, nil))(t)
				var err error
				if strings.HasPrefix(string(alg), "RS") {
					err = rsa.VerifyPKCS1v15(pub, h, digest, s.Result)
				} else {
					err = rsa.VerifyPSS(pub, h, digest, s.Result, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
				}
				if err != nil {
					t.Fatalf("%s %s: signature does not verify locally: %v", name, alg, err)
				}
				ok := get(kc.Verify(c, name, v, azkeys.VerifyParameters{Algorithm: to.Ptr(alg), Digest: digest, Signature: s.Result}, nil))(t)
				bad := get(kc.Verify(c, name, v, azkeys.VerifyParameters{Algorithm: to.Ptr(alg), Digest: digest, Signature: append([]byte{s.Result[0] ^ 1}, s.Result[1:]...)}, nil))(t)
				if !*ok.Value || *bad.Value {
					t.Fatalf("%s %s: verify %v, tampered %v", name, alg, *ok.Value, *bad.Value)
				}
			}
		}
		_, err := kc.Sign(c, "rsa2048", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: []byte("short")}, nil)
		kvWantCode(t, err, http.StatusBadRequest, "BadParameter")
		_, err = kc.WrapKey(c, "rsa2048", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256KW), Value: make([]byte, 32)}, nil)
		kvWantCode(t, err, http.StatusBadRequest, "BadParameter")
	})

	t.Run("ec", func(t *testing.T) {
		for name, alg := range map[string]azkeys.SignatureAlgorithm{"ec256": azkeys.SignatureAlgorithmES256, "ec384": azkeys.SignatureAlgorithmES384, "ec521": azkeys.SignatureAlgorithmES512} {
			pub := ecPublic(t, keys[name])
			var digest []byte
			switch alg {
			case azkeys.SignatureAlgorithmES256:
				d := sha256.Sum256([]byte("m"))
				digest = d[:]
			case azkeys.SignatureAlgorithmES384:
				d := sha512.Sum384([]byte("m"))
				digest = d[:]
			default:
				d := sha512.Sum512([]byte("m"))
				digest = d[:]
			}
			s := get(kc.Sign(c, name, "", azkeys.SignParameters{Algorithm: to.Ptr(alg), Value: digest}, nil))(t)
			n := (pub.Curve.Params().BitSize + 7) / 8
			if len(s.Result) != 2*n || !ecdsa.Verify(pub, digest, new(big.Int).SetBytes(s.Result[:n]), new(big.Int).SetBytes(s.Result[n:])) {
				t.Fatalf("%s: signature does not verify locally", name)
			}
			ok := get(kc.Verify(c, name, "", azkeys.VerifyParameters{Algorithm: to.Ptr(alg), Digest: digest, Signature: s.Result}, nil))(t)
			if !*ok.Value {
				t.Fatalf("%s: vault does not verify its own signature", name)
			}
		}
		_, err := kc.Sign(c, "ec256", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES384), Value: make([]byte, 48)}, nil)
		kvWantCode(t, err, http.StatusBadRequest, "BadParameter")
		_, err = kc.WrapKey(c, "ec256", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: make([]byte, 32)}, nil)
		kvWantCode(t, err, http.StatusForbidden, "Forbidden") // EC keys do not allow wrapKey
	})

	t.Run("oct", func(t *testing.T) {
		for _, bits := range []int{128, 192, 256} {
			name := fmt.Sprintf("aes%d", bits)
			kw := azkeys.EncryptionAlgorithm(fmt.Sprintf("A%dKW", bits))
			cek := make([]byte, 32)
			rand.Read(cek)
			w := get(kc.WrapKey(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(kw), Value: cek}, nil))(t)
			u := get(kc.UnwrapKey(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(kw), Value: w.Result}, nil))(t)
			if len(w.Result) != 40 || !bytes.Equal(u.Result, cek) {
				t.Fatalf("%s: %s round trip", name, kw)
			}
			_, err := kc.UnwrapKey(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(kw), Value: append([]byte{w.Result[0] ^ 1}, w.Result[1:]...)}, nil)
			kvWantCode(t, err, http.StatusBadRequest, "BadParameter")

			gcm := azkeys.EncryptionAlgorithm(fmt.Sprintf("A%dGCM", bits))
			aad := []byte("bound to this")
			e := get(kc.Encrypt(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(gcm), Value: []byte("gcm plaintext"), AdditionalAuthenticatedData: aad}, nil))(t)
			if len(e.IV) != 12 || len(e.AuthenticationTag) != 16 {
				t.Fatalf("%s: GCM iv %d tag %d", name, len(e.IV), len(e.AuthenticationTag))
			}
			d := get(kc.Decrypt(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(gcm), Value: e.Result, IV: e.IV, AuthenticationTag: e.AuthenticationTag, AdditionalAuthenticatedData: aad}, nil))(t)
			if string(d.Result) != "gcm plaintext" {
				t.Fatalf("%s: GCM round trip", name)
			}
			_, err = kc.Decrypt(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(gcm), Value: e.Result, IV: e.IV, AuthenticationTag: e.AuthenticationTag, AdditionalAuthenticatedData: []byte("other")}, nil)
			kvWantCode(t, err, http.StatusBadRequest, "BadParameter")

			for _, mode := range []string{"CBC", "CBCPAD"} {
				alg := azkeys.EncryptionAlgorithm(fmt.Sprintf("A%d%s", bits, mode))
				msg := []byte("sixteen byte blk")
				if mode == "CBCPAD" {
					msg = []byte("any length will do")
				}
				e := get(kc.Encrypt(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: msg}, nil))(t)
				d := get(kc.Decrypt(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: e.Result, IV: e.IV}, nil))(t)
				if len(e.IV) != 16 || !bytes.Equal(d.Result, msg) {
					t.Fatalf("%s %s round trip", name, alg)
				}
			}
			_, err = kc.Encrypt(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithm(fmt.Sprintf("A%dCBC", bits))), Value: []byte("not a block")}, nil)
			kvWantCode(t, err, http.StatusBadRequest, "BadParameter")
		}
		_, err := kc.WrapKey(c, "aes128", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256KW), Value: make([]byte, 32)}, nil)
		kvWantCode(t, err, http.StatusBadRequest, "BadParameter") // key size mismatch
		_, err = kc.Sign(c, "aes256", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: make([]byte, 32)}, nil)
		kvWantCode(t, err, http.StatusForbidden, "Forbidden") // oct keys do not allow sign
	})

	t.Run("update", func(t *testing.T) {
		k := keys["rsa2048"]
		cek := make([]byte, 32)
		wrapParams := azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: cek}
		w := get(kc.WrapKey(c, "rsa2048", "", wrapParams, nil))(t)
		unwrapParams := azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: w.Result}

		u := get(kc.UpdateKey(c, "rsa2048", "", azkeys.UpdateKeyParameters{KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(false)},
			Tags: map[string]*string{"owner": to.Ptr("team-a")}}, nil))(t)
		if *u.Attributes.Enabled || *u.Tags["owner"] != "team-a" || !u.Attributes.Updated.After(u.Attributes.Created.Add(-time.Second)) {
			t.Fatalf("update did not apply: %+v", u.Attributes)
		}
		_, err := kc.WrapKey(c, "rsa2048", "", wrapParams, nil)
		kvWantCode(t, err, http.StatusForbidden, "Forbidden")
		get(kc.UpdateKey(c, "rsa2048", k.KID.Version(), azkeys.UpdateKeyParameters{KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(true)},
			KeyOps: []*azkeys.KeyOperation{to.Ptr(azkeys.KeyOperationUnwrapKey)}}, nil))(t)
		_, err = kc.WrapKey(c, "rsa2048", "", wrapParams, nil)
		kvWantCode(t, err, http.StatusForbidden, "Forbidden") // wrapKey no longer in key_ops
		get(kc.UnwrapKey(c, "rsa2048", "", unwrapParams, nil))(t)

		// Expired: no new wraps, but what was wrapped still unwraps.
		past := time.Now().Add(-time.Hour).Truncate(time.Second)
		get(kc.UpdateKey(c, "rsa2048", "", azkeys.UpdateKeyParameters{KeyOps: []*azkeys.KeyOperation{to.Ptr(azkeys.KeyOperationWrapKey), to.Ptr(azkeys.KeyOperationUnwrapKey), to.Ptr(azkeys.KeyOperationSign)},
			KeyAttributes: &azkeys.KeyAttributes{NotBefore: to.Ptr(past.Add(-time.Hour)), Expires: to.Ptr(past)}}, nil))(t)
		_, err = kc.WrapKey(c, "rsa2048", "", wrapParams, nil)
		kvWantCode(t, err, http.StatusForbidden, "Forbidden")
		get(kc.UnwrapKey(c, "rsa2048", "", unwrapParams, nil))(t)
		// Not yet valid: signing refused until nbf.
		future := time.Now().Add(24 * time.Hour).Truncate(time.Second)
		g := get(kc.UpdateKey(c, "rsa2048", "", azkeys.UpdateKeyParameters{KeyAttributes: &azkeys.KeyAttributes{NotBefore: to.Ptr(future), Expires: to.Ptr(future.Add(time.Hour))}}, nil))(t)
		if !g.Attributes.NotBefore.Equal(future) || !g.Attributes.Expires.Equal(future.Add(time.Hour)) {
			t.Fatalf("nbf/exp not kept: %v %v", g.Attributes.NotBefore, g.Attributes.Expires)
		}
		d := sha256.Sum256([]byte("x"))
		_, err = kc.Sign(c, "rsa2048", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: d[:]}, nil)
		kvWantCode(t, err, http.StatusForbidden, "Forbidden")
		_, err = kc.UpdateKey(c, "rsa2048", "", azkeys.UpdateKeyParameters{KeyOps: []*azkeys.KeyOperation{to.Ptr(azkeys.KeyOperation("bogus"))}}, nil)
		kvWantCode(t, err, http.StatusBadRequest, "BadParameter")
	})

	t.Run("list", func(t *testing.T) {
		for i := range 22 { // 31 keys: more than one 25-key page
			get(kc.CreateKey(c, fmt.Sprintf("page-%02d", i), azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeOct)}, nil))(t)
		}
		get(kc.RotateKey(c, "aes256", nil))(t)
		names := map[string]bool{}
		pages := 0
		for p := kc.NewListKeyPropertiesPager(nil); p.More(); {
			page := get(p.NextPage(c))(t)
			pages++
			for _, it := range page.Value {
				if it.KID.Version() != "" {
					t.Fatalf("list kid %s carries a version", *it.KID)
				}
				names[it.KID.Name()] = true
			}
		}
		if len(names) != len(specs)+22 || pages != 2 {
			t.Fatalf("listed %d keys in %d pages", len(names), pages)
		}
		var versions int
		for p := kc.NewListKeyPropertiesVersionsPager("aes256", nil); p.More(); {
			versions += len(get(p.NextPage(c))(t).Value)
		}
		if versions != 2 {
			t.Fatalf("aes256 has %d versions, want 2", versions)
		}
	})

	t.Run("random", func(t *testing.T) {
		r := get(kc.GetRandomBytes(c, azkeys.GetRandomBytesParameters{Count: to.Ptr(int32(32))}, nil))(t)
		r2 := get(kc.GetRandomBytes(c, azkeys.GetRandomBytesParameters{Count: to.Ptr(int32(32))}, nil))(t)
		if len(r.Value) != 32 || bytes.Equal(r.Value, r2.Value) {
			t.Fatal("random bytes")
		}
		_, err := kc.GetRandomBytes(c, azkeys.GetRandomBytesParameters{Count: to.Ptr(int32(0))}, nil)
		kvWantCode(t, err, http.StatusBadRequest, "BadParameter")
	})
}
