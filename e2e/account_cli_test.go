package e2e

import (
	"strings"
	"syscall"
	"testing"

	"github.com/atrest/atrest/internal/hsm/hsmtest"
)

// armAccount is the part of an account the CLI tests look at.
type armAccount struct {
	Name     string `json:"name"`
	Identity struct {
		Type string `json:"type"`
	} `json:"identity"`
	Properties struct {
		Encryption struct {
			KeySource string `json:"keySource"`
			KV        struct {
				Current string `json:"currentVersionedKeyIdentifier"`
			} `json:"keyvaultproperties"`
			Identity struct {
				UserAssigned string `json:"userAssignedIdentity"`
			} `json:"identity"`
		} `json:"encryption"`
	} `json:"properties"`
}

// TestAccountAndScopeCLI drives `atrest account` and `atrest scope`
// against a running `atrest serve` whose keys live on a PKCS#11 token
// (--pkcs11-module, PIN from the environment): create, show, update,
// list, refresh-key, the scope and user-identity commands; a stopped
// server is named.
func TestAccountAndScopeCLI(t *testing.T) {
	hsmtest.SoftToken(t, "clitoken", "kek", "0c01", pattern(32, "cli-kek"))
	t.Setenv("ATREST_PKCS11_PIN", string(hsmtest.PIN.Bytes()))
	dir := t.TempDir()
	ch := startChild(t, dir, "--pkcs11-module", hsmtest.Module, "--cmk-cache-ttl", "1s")
	d := []string{"--data", dir}
	run := func(args ...string) string { t.Helper(); return cli(t, append(args, d...)...) }

	var a armAccount
	jsonOut(t, run("account", "create", "cliacct", "--identity", "--key-vault-uri", "pkcs11:token=clitoken", "--key-name", "kek"), &a)
	if a.Name != "cliacct" || a.Identity.Type != "SystemAssigned" || a.Properties.Encryption.KeySource != "Microsoft.Keyvault" ||
		a.Properties.Encryption.KV.Current != "pkcs11:token=clitoken/keys/kek/0c01" {
		t.Fatalf("account create: %+v", a)
	}
	var list struct{ Value []armAccount }
	jsonOut(t, run("account", "list"), &list)
	names := map[string]bool{}
	for _, v := range list.Value {
		names[v.Name] = true
	}
	if !names["cliacct"] || !names["devstoreaccount1"] {
		t.Fatalf("account list: %v", names)
	}
	jsonOut(t, run("account", "update", "cliacct", "--key-source", "Microsoft.Storage"), &a)
	if a.Properties.Encryption.KeySource != "Microsoft.Storage" {
		t.Fatalf("account update: %+v", a)
	}
	if out, err := runAtrest(t, append([]string{"account", "refresh-key", "cliacct"}, d...)...); err == nil || !strings.Contains(out, "does not use a customer-managed key") {
		t.Fatalf("refresh-key without a customer-managed key: %v %s", err, out)
	}
	run("account", "update", "cliacct", "--key-vault-uri", "pkcs11:token=clitoken", "--key-name", "kek")
	jsonOut(t, run("account", "refresh-key", "cliacct"), &a)
	if a.Properties.Encryption.KV.Current != "pkcs11:token=clitoken/keys/kek/0c01" {
		t.Fatalf("refresh-key: %+v", a)
	}
	jsonOut(t, run("account", "show", "cliacct"), &a)
	if a.Properties.Encryption.KeySource != "Microsoft.Keyvault" {
		t.Fatalf("account show: %+v", a)
	}
	if out, err := runAtrest(t, append([]string{"account", "show", "nosuch"}, d...)...); err == nil || !strings.Contains(out, `no storage account "nosuch"`) {
		t.Fatalf("show of a missing account: %v %s", err, out)
	}

	type scope struct {
		Name       string
		Properties struct{ Source, State string }
	}
	var sc scope
	jsonOut(t, run("scope", "create", "cliacct", "scope1"), &sc)
	if sc.Name != "scope1" || sc.Properties.Source != "Microsoft.Storage" || sc.Properties.State != "Enabled" {
		t.Fatalf("scope create: %+v", sc)
	}
	jsonOut(t, run("scope", "create", "cliacct", "hsmscope", "--key-uri", "pkcs11:token=clitoken/keys/kek"), &sc)
	if sc.Properties.Source != "Microsoft.KeyVault" {
		t.Fatalf("scope on the token: %+v", sc)
	}
	run("scope", "update", "cliacct", "scope1", "--state", "Disabled")
	jsonOut(t, run("scope", "show", "cliacct", "scope1"), &sc)
	if sc.Properties.State != "Disabled" {
		t.Fatalf("scope update: %+v", sc)
	}
	var scopes struct{ Value []scope }
	jsonOut(t, run("scope", "list", "cliacct"), &scopes)
	if len(scopes.Value) != 2 {
		t.Fatalf("scope list: %+v", scopes)
	}

	// a user-assigned identity, then the account's keys used as it
	var uid struct {
		ID         string
		Properties struct{ PrincipalID string }
	}
	jsonOut(t, run("user-identity", "create", "cliid"), &uid)
	if !strings.HasSuffix(uid.ID, "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/cliid") || uid.Properties.PrincipalID == "" {
		t.Fatalf("user-identity create: %+v", uid)
	}
	if !strings.Contains(run("user-identity", "list"), uid.ID) {
		t.Fatal("user-identity list does not name the identity")
	}
	jsonOut(t, run("account", "update", "cliacct", "--user-identity", "cliid"), &a)
	if a.Identity.Type != "SystemAssigned,UserAssigned" || a.Properties.Encryption.Identity.UserAssigned != uid.ID {
		t.Fatalf("account update --user-identity: %+v", a)
	}
	if out, err := runAtrest(t, append([]string{"account", "update", "cliacct", "--user-identity", "nosuch"}, d...)...); err == nil || !strings.Contains(out, `no user-assigned identity "nosuch"`) {
		t.Fatalf("--user-identity of a missing identity: %v %s", err, out)
	}
	run("user-identity", "delete", "cliid")
	if out, err := runAtrest(t, append([]string{"user-identity", "show", "cliid"}, d...)...); err == nil || !strings.Contains(out, "ResourceNotFound") {
		t.Fatalf("show of a deleted identity: %v %s", err, out)
	}

	if err := ch.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("serve exit: %v", err)
	}
	if out, err := runAtrest(t, append([]string{"account", "list"}, d...)...); err == nil || !strings.Contains(out, "running server") {
		t.Fatalf("account list with the server stopped: %v %s", err, out)
	}
}
