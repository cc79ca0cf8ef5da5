package rbac

import (
	"testing"

	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
	"github.com/atrest/atrest/internal/store"
)

func TestWildMatch(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		ok     bool
	}{
		{"microsoft.keyvault/vaults/*", "microsoft.keyvault/vaults/keys/wrap/action", true},
		{"microsoft.keyvault/vaults/*/read", "microsoft.keyvault/vaults/keys/read", true},
		{"microsoft.keyvault/vaults/*/read", "microsoft.keyvault/vaults/deletedkeys/read", true},
		{"microsoft.keyvault/vaults/*/read", "microsoft.keyvault/vaults/keys/wrap/action", false},
		{"microsoft.keyvault/vaults/keys/*", "microsoft.keyvault/vaults/keyrotationpolicies/read", false},
		{"a", "a", true}, {"a", "ab", false}, {"*", "", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "aXcYb", false},
	} {
		if wildMatch(c.pat, c.s) != c.ok {
			t.Errorf("%s ~ %s: want %v", c.pat, c.s, c.ok)
		}
	}
}

func TestCheck(t *testing.T) {
	root, _ := secret.Random(32)
	meta := store.NewMemMeta()
	keys, _ := sse.NewKeyring(root, meta)
	db := sse.NewDB(meta, store.NewMemObjects(), keys, sse.Options{})
	st, err := Open(db, keys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Assign("p1", "crypto-user", "/vaults/KV1/keys/k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Assign("p2", "Key Vault Reader", "/"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{{"Owner", "/"}, {"reader", "/vaults"}, {"reader", "/subscriptions/x"}, {"reader", "/vaults/a/secrets/b"}, {"reader", "/vaults//keys/k"}} {
		if _, err := st.Assign("p3", bad[0], bad[1]); err == nil {
			t.Errorf("assigned %v", bad)
		}
	}
	for _, c := range []struct {
		who, action, scope string
		ok                 bool
	}{
		{"p1", ActionWrap, KeyScope("kv1", "k1"), true},
		{"p1", ActionWrap, KeyScope("kv1", "K1"), true},
		{"p1", ActionWrap, KeyScope("kv1", "k10"), false},
		{"p1", ActionKeyRead, VaultScope("kv1"), false},
		{"p1", ActionKeyDelete, KeyScope("kv1", "k1"), false},
		{"p2", ActionKeyRead, KeyScope("any", "key"), true},
		{"p2", ActionDeletedRead, VaultScope("any"), true},
		{"p2", ActionWrap, KeyScope("any", "key"), false},
		{"p3", ActionKeyRead, VaultScope("kv1"), false},
	} {
		if d := st.Check(c.who, c.action, c.scope); d.Allowed != c.ok {
			t.Errorf("%s %s at %s: %v", c.who, c.action, c.scope, d)
		}
	}
	// Assignments survive a reopen; removal takes effect at once.
	st2, _ := Open(db, keys)
	as := st2.List("p1", "")
	if len(as) != 1 || as[0].Scope != "/vaults/kv1/keys/k1" {
		t.Fatalf("reopened: %+v", as)
	}
	st2.Remove(as[0].ID)
	if st2.Check("p1", ActionWrap, KeyScope("kv1", "k1")).Allowed {
		t.Fatal("removed assignment still grants")
	}
}
