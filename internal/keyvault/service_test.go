package keyvault

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/audit"
	"github.com/atrest/atrest/internal/clock"
	"github.com/atrest/atrest/internal/identity"
	"github.com/atrest/atrest/internal/rbac"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
	"github.com/atrest/atrest/internal/store"
)

type fixture struct {
	svc      *Service
	ident    *identity.Service
	rbac     *rbac.Store
	keys     *sse.Keyring
	auditLog string
}

// newFixture builds the service on the in-memory stores.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	root, _ := secret.Random(32)
	meta := store.NewMemMeta()
	keys, err := sse.NewKeyring(root, meta)
	if err != nil {
		t.Fatal(err)
	}
	db := sse.NewDB(meta, store.NewMemObjects(), keys, sse.Options{})
	kek, _ := keys.ServiceKEK("audit/test")
	path := filepath.Join(t.TempDir(), "audit.log")
	al, err := audit.Open(path, "keyvault", kek)
	if err != nil {
		t.Fatal(err)
	}
	id, err := identity.New(db, keys, identity.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := rbac.Open(db, keys)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Deps{DB: db, Keys: keys, Identity: id, RBAC: rb, Audit: al}, Options{Clock: clock.New(), SweepEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(); al.Close() })
	return &fixture{svc: svc, ident: id, rbac: rb, keys: keys, auditLog: path}
}

func (f *fixture) admin(t *testing.T, op, vault, name string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	out, err := f.svc.Do(context.Background(), Admin(), op, vault, name, "", b, nil)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	var m map[string]any
	rb, _ := json.Marshal(out)
	json.Unmarshal(rb, &m)
	return m
}

// TestInProcessAPI is the path a storage account's identity takes for a
// customer-managed key: same access decision and audit as the HTTPS API.
func TestInProcessAPI(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.CreateVault("cmk", 30, true); err != nil {
		t.Fatal(err)
	}
	f.admin(t, "CreateKey", "cmk", "acct-key", map[string]any{"kty": "RSA", "key_size": 2048})
	f.admin(t, "CreateKey", "cmk", "other", map[string]any{"kty": "oct"})
	p, _, err := f.ident.CreatePrincipal("storage-account-1", identity.ManagedIdentity)
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.rbac.Assign(p.ObjectID, "Key Vault Crypto Service Encryption User", rbac.KeyScope("cmk", "acct-key"))
	if err != nil {
		t.Fatal(err)
	}
	caller, err := f.svc.CallerFor("storage-account-1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRequestID(context.Background(), "req-cmk-1")
	dek := []byte("0123456789abcdef0123456789abcdef")
	w, err := f.svc.WrapKey(ctx, caller, KeyRef{Vault: "cmk", Name: "acct-key"}, "RSA-OAEP-256", dek)
	if err != nil {
		t.Fatal(err)
	}
	if w.Version == "" || len(w.Value) != 256 {
		t.Fatalf("wrap result %+v", w)
	}
	u, err := f.svc.UnwrapKey(ctx, caller, KeyRef{Vault: "cmk", Name: "acct-key", Version: w.Version}, "RSA-OAEP-256", w.Value)
	if err != nil || string(u.Value) != string(dek) {
		t.Fatalf("unwrap: %v", err)
	}
	_, err = f.svc.WrapKey(ctx, caller, KeyRef{Vault: "cmk", Name: "other"}, "A256KW", dek)
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusForbidden || e.Inner != "ForbiddenByRbac" {
		t.Fatalf("other key: %v", err)
	}
	// Revoking the role revokes access at once.
	if _, err := f.rbac.Remove(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UnwrapKey(ctx, caller, KeyRef{Vault: "cmk", Name: "acct-key"}, "RSA-OAEP-256", w.Value); !errors.As(err, &e) || e.Status != http.StatusForbidden {
		t.Fatalf("after revocation: %v", err)
	}
	var results []string
	err = audit.Read(f.auditLog, "keyvault", f.keys, func(ev audit.Event) error {
		if ev.RequestID == "req-cmk-1" {
			if ev.Caller != p.ObjectID || ev.Client != "service" {
				t.Errorf("event %+v", ev)
			}
			results = append(results, ev.Operation+":"+ev.Result)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"WrapKey:allowed", "UnwrapKey:allowed", "WrapKey:denied", "UnwrapKey:denied"}
	if len(results) != len(want) {
		t.Fatalf("audit %v, want %v", results, want)
	}
	for i := range want {
		if results[i] != want[i] {
			t.Fatalf("audit %v, want %v", results, want)
		}
	}
}

// TestSweep: a rotation policy and soft-delete retention act when the
// clock says so, and not before.
func TestSweep(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.CreateVault("swp", 7, false); err != nil {
		t.Fatal(err)
	}
	f.admin(t, "CreateKey", "swp", "k", map[string]any{"kty": "oct"})
	pol := `{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P10D"},"action":{"type":"rotate"}},{"trigger":{"timeBeforeExpiry":"P7D"},"action":{"type":"Notify"}}],"attributes":{"expiryTime":"P30D"}}`
	if _, err := f.svc.Do(context.Background(), Admin(), "UpdateKeyRotationPolicy", "swp", "k", "", []byte(pol), nil); err != nil {
		t.Fatal(err)
	}
	f.admin(t, "CreateKey", "swp", "doomed", map[string]any{"kty": "oct"})
	f.admin(t, "DeleteKey", "swp", "doomed", nil)
	ctx := context.Background()
	_, rep, err := f.svc.AdvanceClock(ctx, 6*24*time.Hour)
	if err != nil || len(rep.Rotated)+len(rep.Purged)+len(rep.Notified) != 0 {
		t.Fatalf("after 6 days: %+v %v", rep, err)
	}
	_, rep, _ = f.svc.AdvanceClock(ctx, 5*24*time.Hour)
	if len(rep.Rotated) != 1 || len(rep.Purged) != 1 {
		t.Fatalf("after 11 days: %+v", rep)
	}
	// v2 was made on day 11, so it is due on day 21.
	_, rep, _ = f.svc.AdvanceClock(ctx, 9*24*time.Hour)
	if len(rep.Rotated) != 0 {
		t.Fatalf("after 20 days: %+v", rep)
	}
	_, rep, _ = f.svc.AdvanceClock(ctx, 2*24*time.Hour)
	if len(rep.Rotated) != 1 {
		t.Fatalf("after 22 days: %+v", rep)
	}
	latest := f.admin(t, "GetKey", "swp", "k", nil)["attributes"].(map[string]any)
	if exp, created := latest["exp"].(float64), latest["created"].(float64); exp-created != 30*86400 {
		t.Fatalf("the policy's expiry was not applied: %v", latest)
	}
	if _, _, err := f.svc.AdvanceClock(ctx, -time.Hour); err == nil {
		t.Fatal("the clock moved backwards")
	}
	v := f.admin(t, "GetKeyVersions", "swp", "k", nil)
	if n := len(v["value"].([]any)); n != 3 {
		t.Fatalf("%d versions", n)
	}
}

func TestNotifyFiresOnce(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.CreateVault("ntf", 7, false); err != nil {
		t.Fatal(err)
	}
	f.admin(t, "CreateKey", "ntf", "k", map[string]any{"kty": "oct", "attributes": map[string]any{"exp": time.Now().Add(20 * 24 * time.Hour).Unix()}})
	pol := `{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P10D"},"action":{"type":"Notify"}}]}`
	if _, err := f.svc.Do(context.Background(), Admin(), "UpdateKeyRotationPolicy", "ntf", "k", "", []byte(pol), nil); err != nil {
		t.Fatal(err)
	}
	_, rep, _ := f.svc.AdvanceClock(context.Background(), 11*24*time.Hour)
	_, rep2, _ := f.svc.AdvanceClock(context.Background(), 24*time.Hour)
	if len(rep.Notified) != 1 || len(rep2.Notified) != 0 || len(rep.Rotated) != 0 {
		t.Fatalf("notify: %+v then %+v", rep, rep2)
	}
}

// TestCacheUnderConcurrentWrites: readers racing writers never leave a
// stale key in the cache.
func TestCacheUnderConcurrentWrites(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.CreateVault("race", 7, false); err != nil {
		t.Fatal(err)
	}
	f.admin(t, "CreateKey", "race", "k", map[string]any{"kty": "oct"})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 30; i++ {
			f.admin(t, "RotateKey", "race", "k", nil)
		}
	}()
	for {
		select {
		case <-done:
			cached := f.admin(t, "GetKey", "race", "k", nil)["key"].(map[string]any)["kid"].(string)
			f.svc.cache.dropAll()
			stored := f.admin(t, "GetKey", "race", "k", nil)["key"].(map[string]any)["kid"].(string)
			if cached != stored {
				t.Fatalf("the cache serves %s, the store holds %s", cached, stored)
			}
			return
		default:
			f.admin(t, "GetKey", "race", "k", nil)
		}
	}
}

func TestCacheRefusesStalePuts(t *testing.T) {
	c := newCache(time.Minute)
	epoch := c.now()
	c.drop("v", "k") // a writer changed the key after the reader started
	c.putHead("v", "k", &headRecord{Name: "k"}, epoch)
	if c.head("v", "k") != nil {
		t.Fatal("a read that started before a change was cached")
	}
	c.putHead("v", "k", &headRecord{Name: "k"}, c.now())
	if c.head("v", "k") == nil {
		t.Fatal("a fresh read was not cached")
	}
}
