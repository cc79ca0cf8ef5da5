package identity

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
	"github.com/atrest/atrest/internal/store"
)

func newDB(t *testing.T) (*sse.DB, *sse.Keyring) {
	t.Helper()
	root, _ := secret.Random(32)
	meta := store.NewMemMeta()
	keys, err := sse.NewKeyring(root, meta)
	if err != nil {
		t.Fatal(err)
	}
	return sse.NewDB(meta, store.NewMemObjects(), keys, sse.Options{}), keys
}

func anyAud(string) bool { return true }

func TestSecrets(t *testing.T) {
	db, keys := newDB(t)
	s, err := New(db, keys, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, sec, err := s.CreatePrincipal("app", ServicePrincipal)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreatePrincipal("APP", ServicePrincipal); err == nil {
		t.Fatal("duplicate name accepted")
	}
	if _, ok := s.checkClientSecret(p.ClientID, sec); !ok {
		t.Fatal("right secret refused")
	}
	if _, ok := s.checkClientSecret(p.ClientID, sec+"x"); ok {
		t.Fatal("wrong secret accepted")
	}
	if got, ok := s.checkClientSecret("nobody", sec); ok || got != nil {
		t.Fatal("unknown client accepted")
	}
	// Reopening loads the principal; the secret still works, and nothing
	// but the verifier is kept.
	s2, err := New(db, keys, Options{})
	if err != nil || s2.Tenant() != s.Tenant() {
		t.Fatalf("reopen: %v", err)
	}
	if _, ok := s2.checkClientSecret(p.ClientID, sec); !ok {
		t.Fatal("secret lost on reopen")
	}
	for _, v := range s2.byOID[p.ObjectID].Secrets {
		if strings.Contains(string(v.MAC)+string(v.Salt), sec) {
			t.Fatal("secret kept in the clear")
		}
	}
	_, sec2, err := s2.ResetSecret("app")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s2.checkClientSecret(p.ClientID, sec); ok {
		t.Fatal("old secret still works after reset")
	}
	if _, ok := s2.checkClientSecret(p.ClientID, sec2); !ok {
		t.Fatal("new secret refused")
	}
	mi, miSec, _ := s2.CreatePrincipal("mi", ManagedIdentity)
	if got, ok := s2.checkManagedIdentity(miSec); !ok || got.ObjectID != mi.ObjectID {
		t.Fatal("managed identity not found by its secret")
	}
	if _, ok := s2.checkClientSecret(mi.ClientID, miSec); ok {
		t.Fatal("a managed identity used the client-secret grant")
	}
	if _, err := New(db, keys, Options{Tenant: "other-tenant"}); err == nil {
		t.Fatal("tenant changed under existing data")
	}
}

func TestTokens(t *testing.T) {
	db, keys := newDB(t)
	s, _ := New(db, keys, Options{})
	s.SetPort(8444)
	p, _, _ := s.CreatePrincipal("app", ServicePrincipal)
	tok, err := s.IssueFor("app", "https://vault.azure.net")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Verify(tok.Value, func(a string) bool { return a == "https://vault.azure.net" })
	if err != nil || c.ObjectID != p.ObjectID || c.AppID != p.ClientID {
		t.Fatalf("verify: %+v %v", c, err)
	}
	if _, err := s.Verify(tok.Value, func(string) bool { return false }); !errors.Is(err, ErrInvalidToken) {
		t.Fatal("audience not checked")
	}
	// Rotation: old tokens keep verifying, new ones carry the new kid.
	kid, err := s.RotateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(tok.Value, anyAud); err != nil {
		t.Fatalf("old token after rotation: %v", err)
	}
	tok2, _ := s.IssueFor("app", "x")
	h, _, _ := jwt.NewParser().ParseUnverified(tok2.Value, &Claims{})
	if h.Header["kid"] != kid {
		t.Fatal("new tokens not signed with the new key")
	}
	// Signed by this issuer but with bad claims.
	base := func() Claims {
		var c Claims
		jwt.NewParser().ParseUnverified(tok.Value, &c)
		return c
	}
	for name, mod := range map[string]func(*Claims){
		"expired":    func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Second)) },
		"future nbf": func(c *Claims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Minute)) },
		"issuer":     func(c *Claims) { c.Issuer = "https://localhost:9999/" + s.Tenant() + "/v2.0" },
		"issuer path": func(c *Claims) {
			c.Issuer = "https://localhost:8444/" + s.Tenant()
		},
		"tenant":  func(c *Claims) { c.TenantID = "x" },
		"subject": func(c *Claims) { c.Subject = "someone-else" },
	} {
		c := base()
		mod(&c)
		raw, _ := s.Sign(c)
		if _, err := s.Verify(raw, anyAud); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s accepted", name)
		}
	}
	// A verified token is remembered, but its expiry still applies.
	short := base()
	short.ExpiresAt = jwt.NewNumericDate(time.Now().Add(1100 * time.Millisecond))
	rawShort, _ := s.Sign(short)
	if _, err := s.Verify(rawShort, anyAud); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if _, err := s.Verify(rawShort, anyAud); !errors.Is(err, ErrInvalidToken) {
		t.Fatal("a remembered token outlived its expiry")
	}
	if _, err := s.DeletePrincipal("app"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(tok.Value, anyAud); !errors.Is(err, ErrInvalidToken) {
		t.Fatal("a deleted principal's token verified")
	}
}

func TestScopeToAudience(t *testing.T) {
	for in, want := range map[string]string{
		"https://vault.azure.net/.default":                              "https://vault.azure.net",
		"https://storage.azure.com/.default openid offline_access":      "https://storage.azure.com",
		"openid profile https://localhost:8443/.default offline_access": "https://localhost:8443",
		"https://localhost:8444//.default":                              "https://localhost:8444/",
		"openid":                                                        "",
	} {
		if got := audienceFromScope(in); got != want {
			t.Errorf("%q: %q", in, got)
		}
	}
}
