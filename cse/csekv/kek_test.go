package csekv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/cse"
)

var allOps = []string{"encrypt", "decrypt", "wrapKey", "unwrapKey"}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func roundTrip(t *testing.T, ctx context.Context, enc, dec cse.KeyEncryptionKey, resolver cse.KeyResolver) error {
	t.Helper()
	blob, err := (&cse.Encrypter{KEK: enc}).EncryptBlob(ctx, strings.NewReader("vault-protected"))
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := io.ReadAll(blob)
	r, err := (&cse.Decrypter{KEK: dec, Resolver: resolver, RequireEncryption: true}).DecryptBlob(ctx, blob.Metadata(), bytes.NewReader(ct))
	if err != nil {
		return err
	}
	pt, err := io.ReadAll(r)
	if err == nil && string(pt) != "vault-protected" {
		t.Fatalf("decrypted %q", pt)
	}
	return err
}

// TestLocalWrapRemoteUnwrap: by default wrapping stays local and only
// unwrapping reaches the vault; RemoteWrap sends both.
func TestLocalWrapRemoteUnwrap(t *testing.T) {
	ctx := testContext(t)
	v := newFakeVault(t)
	v.addKey("k1", "v1", &fakeKey{priv: testKey, ops: allOps, enabled: true})
	c := v.client(t, "good-token")
	for _, alg := range []string{"", cse.RSAOAEP} {
		kek, err := New(ctx, c, "k1", "", &Options{Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		if kek.KeyID() != v.srv.URL+"/keys/k1/v1" || (alg == "" && kek.Algorithm() != cse.RSAOAEP256) {
			t.Fatalf("kid %s, alg %s", kek.KeyID(), kek.Algorithm())
		}
		if err := roundTrip(t, ctx, kek, kek, nil); err != nil {
			t.Fatal(err)
		}
	}
	if v.count("wrapkey") != 0 || v.count("unwrapkey") != 2 {
		t.Fatalf("vault calls %v", v.calls)
	}
	remote, err := New(ctx, c, "k1", "v1", &Options{RemoteWrap: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(t, ctx, remote, remote, nil); err != nil {
		t.Fatal(err)
	}
	if v.count("wrapkey") != 1 || v.count("unwrapkey") != 3 {
		t.Fatalf("vault calls %v", v.calls)
	}
}

// TestRefusals: wrong key material is ErrDecrypt; a denied caller is not;
// disabled, expired and wrap-less keys refuse to wrap.
func TestRefusals(t *testing.T) {
	ctx := testContext(t)
	v := newFakeVault(t)
	v.addKey("k1", "v1", &fakeKey{priv: testKey, ops: allOps, enabled: true})
	c := v.client(t, "good-token")
	kek, err := New(ctx, c, "k1", "v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kek.UnwrapKey(ctx, bytes.Repeat([]byte{1}, 256), cse.RSAOAEP256); !errors.Is(err, cse.ErrDecrypt) {
		t.Errorf("garbage unwrap: %v", err)
	}
	wrapped, err := kek.WrapKey(ctx, make([]byte, 40))
	if err != nil {
		t.Fatal(err)
	}
	denied, err := New(ctx, c, "k1", "v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	denied.client = v.client(t, "revoked-token")
	if _, err := denied.UnwrapKey(ctx, wrapped, cse.RSAOAEP256); err == nil || errors.Is(err, cse.ErrDecrypt) {
		t.Errorf("denied unwrap: %v", err)
	}

	v.addKey("off", "v1", &fakeKey{priv: testKey, ops: allOps, enabled: false})
	if _, err := New(ctx, c, "off", "", nil); err == nil {
		t.Error("disabled key accepted")
	}
	v.addKey("old", "v1", &fakeKey{priv: testKey, ops: allOps, enabled: true, exp: time.Now().Add(-time.Hour).Unix()})
	v.addKey("ro", "v1", &fakeKey{priv: testKey, ops: []string{"unwrapKey"}, enabled: true})
	for _, name := range []string{"old", "ro"} {
		k, err := New(ctx, c, name, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.WrapKey(ctx, make([]byte, 40)); err == nil {
			t.Errorf("key %s wrapped", name)
		}
	}
	if _, err := New(ctx, c, "k1", "", &Options{Algorithm: cse.A256KW}); !errors.Is(err, cse.ErrUnsupported) {
		t.Errorf("A256KW on an RSA key: %v", err)
	}
	if _, err := New(ctx, c, "missing", "", nil); err == nil {
		t.Error("missing key found")
	}
}

// TestResolver: data written under an older version resolves after the key
// rotates, and key ids on vaults not listed never reach the network.
func TestResolver(t *testing.T) {
	ctx := testContext(t)
	v := newFakeVault(t)
	v.addKey("k1", "v1", &fakeKey{priv: testKey, ops: allOps, enabled: true})
	c := v.client(t, "good-token")
	old, err := New(ctx, c, "k1", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	v.addKey("k1", "v2", &fakeKey{priv: testKey, ops: allOps, enabled: true})
	current, err := New(ctx, c, "k1", "", nil)
	if err != nil || current.KeyID() == old.KeyID() {
		t.Fatalf("current %v, %v", current, err)
	}
	r := &Resolver{Vaults: []string{v.srv.URL + "/"}, Credential: staticToken("good-token"), ClientOptions: v.clientOptions()}
	if err := roundTrip(t, ctx, old, current, r); err != nil {
		t.Fatalf("old version through the resolver: %v", err)
	}
	gets := v.count("get")
	if err := roundTrip(t, ctx, old, current, r); err != nil || v.count("get") != gets {
		t.Fatalf("second resolve: %v, %d GETs", err, v.count("get")-gets)
	}
	elsewhere := &Resolver{Vaults: []string{"https://other.vault.example"}, Credential: staticToken("good-token"), ClientOptions: v.clientOptions()}
	if err := roundTrip(t, ctx, old, current, elsewhere); !errors.Is(err, cse.ErrKeyNotFound) {
		t.Fatalf("unlisted vault: %v", err)
	}
	if v.count("get") != gets {
		t.Fatal("the resolver contacted an unlisted vault")
	}
}

func TestParseKeyID(t *testing.T) {
	for id, want := range map[string][3]string{
		"https://kv.vault.azure.net/keys/k1/abc": {"https://kv.vault.azure.net", "k1", "abc"},
		"https://KV.localhost:8443/keys/k1":      {"https://kv.localhost:8443", "k1", ""},
		"https://kv.localhost:8443/keys/k1/":     {"https://kv.localhost:8443", "k1", ""},
		"http://kv.localhost/keys/k1/abc":        {},
		"https://kv/secrets/k1/abc":              {},
		"https://kv/keys/k1/abc/extra":           {},
		"https://user@kv/keys/k1/abc":            {},
		"local:aes":                              {},
		"https://kv.vault.azure.net/keys//abc":   {},
		"https://kv.vault.azure.net/keys/k1?x=1": {},
	} {
		vault, name, version, ok := ParseKeyID(id)
		if ok != (want != [3]string{}) || [3]string{vault, name, version} != want {
			t.Errorf("%s: %q %q %q %v", id, vault, name, version, ok)
		}
	}
}
