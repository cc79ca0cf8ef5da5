package csekv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"hash"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// fakeVault speaks the few Key Vault shapes azkeys uses for a KEK (GET key,
// wrapkey, unwrapkey) over TLS, with the bearer challenge, for RSA keys
// held in memory. It is a test double of the wire protocol only.
type fakeVault struct {
	srv *httptest.Server

	mu    sync.Mutex
	keys  map[string]*fakeKey // "name/version"
	order map[string][]string // name -> versions, newest last
	calls map[string]int      // "wrapkey", "unwrapkey", "get"
	token string
}

type fakeKey struct {
	priv    *rsa.PrivateKey
	ops     []string
	enabled bool
	exp     int64
}

var testKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func newFakeVault(t testing.TB) *fakeVault {
	t.Helper()
	v := &fakeVault{keys: map[string]*fakeKey{}, order: map[string][]string{}, calls: map[string]int{}, token: "good-token"}
	v.srv = httptest.NewTLSServer(http.HandlerFunc(v.serve))
	t.Cleanup(v.srv.Close)
	return v
}

func (v *fakeVault) addKey(name, version string, k *fakeKey) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.keys[name+"/"+version] = k
	v.order[name] = append(v.order[name], version)
}

func (v *fakeVault) count(op string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls[op]
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func vaultError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": code}})
}

func (v *fakeVault) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.test/tenant1", resource="https://vault.azure.net"`)
		vaultError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+v.token {
		vaultError(w, http.StatusForbidden, "Forbidden")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // keys/{name}/{version}[/{op}]
	if len(parts) < 2 || parts[0] != "keys" {
		vaultError(w, http.StatusNotFound, "NotFound")
		return
	}
	name, version := parts[1], ""
	if len(parts) > 2 {
		version = parts[2]
	}
	if version == "" && len(v.order[name]) > 0 {
		version = v.order[name][len(v.order[name])-1]
	}
	k := v.keys[name+"/"+version]
	if k == nil {
		vaultError(w, http.StatusNotFound, "KeyNotFound")
		return
	}
	kid := v.srv.URL + "/keys/" + name + "/" + version
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodGet && len(parts) <= 3 {
		v.calls["get"]++
		attrs := map[string]any{"enabled": k.enabled}
		if k.exp != 0 {
			attrs["exp"] = k.exp
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"key":        map[string]any{"kid": kid, "kty": "RSA", "key_ops": k.ops, "n": b64(k.priv.N.Bytes()), "e": b64([]byte{1, 0, 1})},
			"attributes": attrs})
		return
	}
	if r.Method != http.MethodPost || len(parts) != 4 {
		vaultError(w, http.StatusBadRequest, "BadParameter")
		return
	}
	var req struct{ Alg, Value string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		vaultError(w, http.StatusBadRequest, "BadParameter")
		return
	}
	in, err := base64.RawURLEncoding.DecodeString(req.Value)
	var h hash.Hash
	switch req.Alg {
	case "RSA-OAEP-256":
		h = sha256.New()
	case "RSA-OAEP":
		h = sha1.New()
	}
	if err != nil || h == nil {
		vaultError(w, http.StatusBadRequest, "BadParameter")
		return
	}
	v.calls[parts[3]]++
	var out []byte
	switch parts[3] {
	case "wrapkey":
		out, err = rsa.EncryptOAEP(h, rand.Reader, &k.priv.PublicKey, in, nil)
	case "unwrapkey":
		out, err = rsa.DecryptOAEP(h, nil, k.priv, in, nil)
	default:
		vaultError(w, http.StatusBadRequest, "BadParameter")
		return
	}
	if err != nil {
		vaultError(w, http.StatusBadRequest, "BadParameter")
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"kid": kid, "value": b64(out)})
}

// staticToken is a credential that always returns one token.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func (v *fakeVault) clientOptions() *azkeys.ClientOptions {
	return &azkeys.ClientOptions{DisableChallengeResourceVerification: true,
		ClientOptions: azcore.ClientOptions{Transport: v.srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}}}
}

func (v *fakeVault) client(t testing.TB, token string) *azkeys.Client {
	t.Helper()
	c, err := azkeys.NewClient(v.srv.URL, staticToken(token), v.clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
