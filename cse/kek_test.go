package cse

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func vectorKEKs(t *testing.T) []KeyEncryptionKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir(t), "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Keks []json.RawMessage }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var keks []KeyEncryptionKey
	for _, raw := range doc.Keks {
		k, err := ParseJWK(raw)
		if err != nil {
			t.Fatal(err)
		}
		keks = append(keks, k)
	}
	if len(keks) != 3 {
		t.Fatalf("%d KEKs in keys.json", len(keks))
	}
	return keks
}

func TestKEKsWrapAndUnwrap(t *testing.T) {
	ctx := context.Background()
	for _, k := range vectorKEKs(t) {
		payload := wrapPayload(Protocol2_0, randomBytes(32))
		w, err := k.WrapKey(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.UnwrapKey(ctx, w, k.Algorithm())
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("%v: %v", k, err)
		}
		w[len(w)/2] ^= 1
		if _, err := k.UnwrapKey(ctx, w, k.Algorithm()); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("%v tampered: %v", k, err)
		}
	}
}

func rsaTestKey(t *testing.T) (*RSAKEK, *rsa.PrivateKey) {
	t.Helper()
	k := vectorKEKs(t)[1].(*RSAKEK)
	return k, k.priv.key()
}

func TestRSAKEKFromPEM(t *testing.T) {
	ctx := context.Background()
	_, priv := rsaTestKey(t)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(priv)
	pkix, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	blocks := map[string][]byte{
		"RSA PRIVATE KEY": x509.MarshalPKCS1PrivateKey(priv),
		"PRIVATE KEY":     pkcs8,
		"PUBLIC KEY":      pkix,
		"RSA PUBLIC KEY":  x509.MarshalPKCS1PublicKey(&priv.PublicKey),
	}
	full, _ := NewRSAKEK("kid", priv, "")
	for typ, der := range blocks {
		k, err := ParseRSAKEK("kid", pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), RSAOAEP)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		w, err := k.WrapKey(ctx, []byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := full.UnwrapKey(ctx, w, RSAOAEP)
		if err != nil || string(got) != "0123456789abcdef0123456789abcdef" {
			t.Fatalf("%s: %v", typ, err)
		}
		if strings.Contains(typ, "PUBLIC") {
			if k.CanUnwrap() {
				t.Fatalf("%s can unwrap", typ)
			}
			if _, err := k.UnwrapKey(ctx, w, RSAOAEP); err == nil {
				t.Fatalf("%s unwrapped", typ)
			}
		}
	}
	if _, err := ParseRSAKEK("kid", []byte("junk"), ""); err == nil {
		t.Fatal("junk PEM accepted")
	}
	if _, err := NewRSAKEK("kid", priv, RSA1_5); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("RSA1_5 for writing: %v", err)
	}
}

// TestRSALegacyUnwrap: "RSA" means RSA-OAEP; RSA1_5 is read but never written.
func TestRSALegacyUnwrap(t *testing.T) {
	ctx := context.Background()
	k, priv := rsaTestKey(t)
	cek := randomBytes(32)
	oaep, _ := k.WrapKey(ctx, cek)
	if got, err := k.UnwrapKey(ctx, oaep, "RSA"); err != nil || !bytes.Equal(got, cek) {
		t.Fatalf("legacy name RSA: %v", err)
	}
	v15, err := rsa.EncryptPKCS1v15(rand.Reader, &priv.PublicKey, cek) //nolint:staticcheck // building legacy test data
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.UnwrapKey(ctx, v15, RSA1_5); err != nil || !bytes.Equal(got, cek) {
		t.Fatalf("RSA1_5: %v", err)
	}
	if _, err := k.UnwrapKey(ctx, oaep, RSAOAEP256); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("OAEP-SHA1 data as OAEP-256: %v", err)
	}
	// A document recording "RSA" decrypts through the package too.
	blob, err := (&Encrypter{KEK: k}).EncryptBlob(ctx, strings.NewReader("legacy"))
	if err != nil {
		t.Fatal(err)
	}
	ct := new(bytes.Buffer)
	_, _ = ct.ReadFrom(blob)
	ed := blob.EncryptionData()
	ed.WrappedContentKey.Algorithm = "RSA"
	got, err := decryptAll(ctx, &Decrypter{KEK: k}, ed.String(), ct.Bytes())
	if err != nil || string(got) != "legacy" {
		t.Fatalf("document with Algorithm RSA: %q, %v", got, err)
	}
	// Writing with a KEK that reports RSA1_5 is refused.
	if _, err := (&Encrypter{KEK: fakeAlgKEK{k, RSA1_5}}).EncryptBlob(ctx, strings.NewReader("x")); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("write with RSA1_5: %v", err)
	}
}

type fakeAlgKEK struct {
	KeyEncryptionKey
	alg string
}

func (f fakeAlgKEK) Algorithm() string { return f.alg }

func TestAESKEKChecks(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{0, 8, 31, 33} {
		if _, err := NewAESKEK("k", make([]byte, n)); err == nil {
			t.Errorf("%d-byte AES KEK accepted", n)
		}
	}
	for n, alg := range map[int]string{16: A128KW, 24: A192KW, 32: A256KW} {
		k, err := NewAESKEK("k", randomBytes(n))
		if err != nil || k.Algorithm() != alg {
			t.Fatalf("%d bytes: %v %v", n, k, err)
		}
		w, _ := k.WrapKey(ctx, make([]byte, 40))
		if _, err := k.UnwrapKey(ctx, w, "A512KW"); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s unwrapping another algorithm: %v", alg, err)
		}
	}
	jwk := `{"kty":"oct","kid":"x","alg":"A128KW","k":"` + base64.RawURLEncoding.EncodeToString(make([]byte, 32)) + `"}`
	if _, err := ParseJWK([]byte(jwk)); err == nil {
		t.Error("JWK alg A128KW on a 32-byte key accepted")
	}
	for _, bad := range []string{`{"kty":"EC"}`, `{"kty":"oct"}`, `{"kty":"oct","k":"!!"}`, `{"kty":"RSA","n":"AQAB"}`, `[`} {
		if _, err := ParseJWK([]byte(bad)); err == nil {
			t.Errorf("JWK %s accepted", bad)
		}
	}
}

// TestKeysNeverPrint formats and marshals every key holder with every verb.
func TestKeysNeverPrint(t *testing.T) {
	raw := bytes.Repeat([]byte{0xA7, 0x3C}, 16)
	aesKEK, _ := NewAESKEK("local:k", raw)
	rsaKEK, priv := rsaTestKey(t)
	sec := newSecret(raw)
	holders := []any{aesKEK, rsaKEK, sec, struct{ K secret }{sec}, struct{ k secret }{sec},
		struct{ k *AESKEK }{aesKEK}, newRSAPrivate(priv), struct{ p rsaPrivate }{newRSAPrivate(priv)}, struct{ k *RSAKEK }{rsaKEK}}
	leaks := []string{
		hex.EncodeToString(raw[:4]), strings.ToUpper(hex.EncodeToString(raw[:4])), "167 60 167", "0xa7", "\\xa7",
		base64.StdEncoding.EncodeToString(raw)[:8], priv.D.String()[:12], priv.D.Text(16)[:12], priv.Primes[0].String()[:12],
		fmt.Sprint(uint(priv.D.Bits()[0])), fmt.Sprint(uint(priv.Primes[0].Bits()[0])),
	}
	for _, h := range holders {
		var out []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d", "%T"} {
			out = append(out, fmt.Sprintf(verb, h))
		}
		j, _ := json.Marshal(h)
		out = append(out, string(j))
		for _, s := range out {
			for _, leak := range leaks {
				if strings.Contains(strings.ToLower(s), strings.ToLower(leak)) {
					t.Fatalf("%T leaked %q in %q", h, leak, s)
				}
			}
		}
	}
}
