package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/atrest/atrest/internal/admin"
	"github.com/atrest/atrest/internal/audit"
	"github.com/atrest/atrest/internal/identity"
)

// clientCredentialsToken asks the token endpoint as ClientSecretCredential does.
func clientCredentialsToken(t testing.TB, ts *testServer, hc *http.Client, cr admin.Credentials, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {cr.ClientID}, "client_secret": {cr.Secret},
		"scope": {scope + " openid offline_access profile"}, "client_info": {"1"}}
	resp, err := hc.PostForm(ts.IdentityURL+"/"+cr.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func b64url(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestKVTokenForgeries: the vault answers 401 with a challenge to tokens
// that are expired, not yet valid, for another audience, from another
// issuer, badly signed, unsigned (alg none), signed by another issuer's
// key, HMAC-signed with the public key, or held by a deleted principal;
// each attempt is audited as unauthenticated.
func TestKVTokenForgeries(t *testing.T) {
	ts := startServer(t)
	hc := kvTransport(t, ts.CAFile)
	adminDo(t, ts, "vault.create", map[string]any{"name": "kv1"}, nil)
	cr := newPrincipal(t, ts, "victim", "Key Vault Reader", "/vaults/kv1")
	_, port, _ := strings.Cut(strings.TrimPrefix(ts.VaultURL, "https://127.0.0.1"), ":")
	aud := "https://localhost:" + port
	status, tok := clientCredentialsToken(t, ts, hc, cr, aud+"/.default")
	if status != http.StatusOK || tok["token_type"] != "Bearer" || tok["expires_in"].(float64) < 3000 {
		t.Fatalf("token endpoint: %d %v", status, tok)
	}
	valid := tok["access_token"].(string)

	call := func(token string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, vaultURL(ts, "kv1")+"/keys?api-version=7.4", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	if resp, body := call(valid); resp.StatusCode != http.StatusOK {
		t.Fatalf("valid token refused: %d %s", resp.StatusCode, body)
	}

	id := ts.Identity()
	now := time.Now()
	base := func() identity.Claims {
		var c identity.Claims
		parsed, _, err := jwt.NewParser().ParseUnverified(valid, &c)
		if err != nil || parsed == nil {
			t.Fatal(err)
		}
		return c
	}
	sign := func(mod func(*identity.Claims)) string {
		c := base()
		mod(&c)
		s, err := id.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	header := strings.Split(valid, ".")[0]
	var hdr map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(header)
	json.Unmarshal(hb, &hdr)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	foreign := jwt.NewWithClaims(jwt.SigningMethodRS256, base())
	foreign.Header["kid"] = hdr["kid"] // claims to be ours
	foreignTok, _ := foreign.SignedString(otherKey)
	// Algorithm confusion: HMAC keyed with the issuer's public key.
	jr, err := hc.Get(ts.IdentityURL + "/" + cr.TenantID + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct{ Keys []struct{ N, E string } }
	json.NewDecoder(jr.Body).Decode(&jwks)
	jr.Body.Close()
	nb, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].N)
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: 65537})
	hmacTok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, base()).SignedString(pubDER)
	parts := strings.Split(valid, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[10] ^= 0x01
	badSig := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	swapped := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), cr.ObjectID, "00000000-0000-0000-0000-000000000000", 1))) + "." + parts[2]

	forgeries := map[string]string{
		"expired": sign(func(c *identity.Claims) {
			c.IssuedAt, c.NotBefore, c.ExpiresAt = jwt.NewNumericDate(now.Add(-2*time.Hour)), jwt.NewNumericDate(now.Add(-2*time.Hour)), jwt.NewNumericDate(now.Add(-time.Minute))
		}),
		"not yet valid":     sign(func(c *identity.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(10 * time.Minute)) }),
		"no exp":            sign(func(c *identity.Claims) { c.ExpiresAt = nil }),
		"no nbf":            sign(func(c *identity.Claims) { c.NotBefore = nil }),
		"wrong audience":    sign(func(c *identity.Claims) { c.Audience = jwt.ClaimStrings{"https://storage.azure.com"} }),
		"wrong issuer":      sign(func(c *identity.Claims) { c.Issuer = "https://login.microsoftonline.com/" + cr.TenantID + "/v2.0" }),
		"wrong tenant":      sign(func(c *identity.Claims) { c.TenantID = "11111111-1111-1111-1111-111111111111" }),
		"bad signature":     badSig,
		"altered payload":   swapped,
		"alg none":          b64url(map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".",
		"another issuer":    foreignTok,
		"HS256 with pubkey": hmacTok,
		"garbage":           "not.a.jwt",
	}
	for name, tokStr := range forgeries {
		resp, body := call(tokStr)
		ch := resp.Header.Get("WWW-Authenticate")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"Unauthorized"`) ||
			!strings.HasPrefix(ch, `Bearer authorization="https://localhost:`) || !strings.Contains(ch, "/"+cr.TenantID+`", resource="`+aud+`"`) {
			t.Errorf("%s: got %d %s (challenge %q)", name, resp.StatusCode, body, ch)
		}
	}
	// Deleting the principal revokes its still-unexpired token.
	adminDo(t, ts, "principal.delete", map[string]any{"principal": "victim"}, nil)
	if resp, _ := call(valid); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("deleted principal's token: %d", resp.StatusCode)
	}
	n := 0
	ts.Admin().ReadAudit(admin.AuditArgs{Vault: "kv1", Result: audit.Unauthenticated}, func(e audit.Event) error { n++; return nil })
	if n != len(forgeries)+1 {
		t.Errorf("audit has %d unauthenticated events, want %d", n, len(forgeries)+1)
	}
}

// TestIdentityEndpoints checks the issuer's contract with the credentials:
// discovery shapes, JWKS, and refusals at the token endpoint.
func TestIdentityEndpoints(t *testing.T) {
	ts := startServer(t)
	hc := kvTransport(t, ts.CAFile)
	cr := newPrincipal(t, ts, "app", "", "")
	getJSON := func(u string) (int, map[string]any) {
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	_, port, _ := strings.Cut(strings.TrimPrefix(ts.IdentityURL, "https://127.0.0.1"), ":")
	host := "https://localhost:" + port
	st, d := getJSON(host + "/" + cr.TenantID + "/v2.0/.well-known/openid-configuration")
	if st != 200 || d["issuer"] != host+"/"+cr.TenantID+"/v2.0" || d["token_endpoint"] != host+"/"+cr.TenantID+"/oauth2/v2.0/token" {
		t.Fatalf("discovery: %d %v", st, d)
	}
	st, d = getJSON(host + "/adfs/.well-known/openid-configuration")
	if st != 200 || d["token_endpoint"] != host+"/adfs/oauth2/token" {
		t.Fatalf("adfs discovery: %d %v", st, d)
	}
	st, d = getJSON(host + "/" + cr.TenantID + "/discovery/v2.0/keys")
	keys, _ := d["keys"].([]any)
	if st != 200 || len(keys) != 1 || keys[0].(map[string]any)["d"] != nil || keys[0].(map[string]any)["n"] == nil {
		t.Fatalf("jwks: %d %v", st, d)
	}
	if st, d = getJSON(host + "/someone-else/v2.0/.well-known/openid-configuration"); st != 400 || d["error"] != "invalid_tenant" {
		t.Fatalf("foreign tenant: %d %v", st, d)
	}
	wrong := cr
	wrong.Secret = "x" + cr.Secret[1:]
	if st, d = clientCredentialsToken(t, ts, hc, wrong, "https://vault.azure.net/.default"); st != 401 || d["error"] != "invalid_client" {
		t.Fatalf("wrong secret: %d %v", st, d)
	}
	unknown := cr
	unknown.ClientID = "00000000-0000-0000-0000-000000000001"
	if st, d = clientCredentialsToken(t, ts, hc, unknown, "https://vault.azure.net/.default"); st != 400 || d["error"] != "unauthorized_client" {
		t.Fatalf("unknown client: %d %v", st, d)
	}
	if st, d = clientCredentialsToken(t, ts, hc, cr, "openid"); st != 400 || d["error"] != "invalid_scope" {
		t.Fatalf("no .default scope: %d %v", st, d)
	}
	st, d = clientCredentialsToken(t, ts, hc, cr, "https://vault.azure.net/.default")
	if st != 200 {
		t.Fatalf("token: %d %v", st, d)
	}
	var c identity.Claims
	if _, _, err := jwt.NewParser().ParseUnverified(d["access_token"].(string), &c); err != nil {
		t.Fatal(err)
	}
	if c.TenantID != cr.TenantID || c.ObjectID != cr.ObjectID || c.AppID != cr.ClientID || c.Audience[0] != "https://vault.azure.net" ||
		c.ExpiresAt.Sub(c.NotBefore.Time) != time.Hour || c.Issuer != ts.IdentityURL+"/"+cr.TenantID+"/v2.0" {
		t.Fatalf("claims: %+v", c)
	}
	if _, err := ts.Identity().Verify(d["access_token"].(string), func(a string) bool { return a == "https://vault.azure.net" }); err != nil {
		t.Fatalf("own token does not verify: %v", err)
	}
}
