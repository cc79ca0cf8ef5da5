package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/atrest/atrest/internal/server"
)

// TestAzManagement drives the management API with az through a custom
// cloud: a user-assigned identity (az identity), a storage account with
// infrastructure encryption, its encryption scopes, and the switch to a
// customer-managed key used as the user-assigned identity.
func TestAzManagement(t *testing.T) {
	azPath := azCLI(t)
	ts := startServer(t, withHTTPS(), withKeys(server.KeyConfig{CMKCacheTTL: cmkWindow}))
	sub := ts.Mgmt().Subscription()
	creds := newPrincipal(t, ts, "az-ops", "", "")
	grantARM(t, ts, creds.ObjectID, roleContributor, "/subscriptions/"+sub)
	az, _ := azLogin(t, azPath, ts, creds)
	out := func(v any, args ...string) {
		t.Helper()
		raw := az(append(args, "-o", "json")...)
		if err := json.Unmarshal([]byte(raw), v); err != nil {
			t.Fatalf("az %s: %v\n%s", strings.Join(args, " "), err, raw)
		}
	}

	var id struct{ ID, PrincipalID, ClientID string }
	out(&id, "identity", "create", "-g", "rg1", "-n", "azid", "-l", "local")
	if id.PrincipalID == "" || !strings.HasSuffix(id.ID, "/userAssignedIdentities/azid") {
		t.Fatalf("az identity create: %+v", id)
	}

	type azAccount struct {
		Encryption struct {
			KeySource                       string
			RequireInfrastructureEncryption bool
			EncryptionIdentity              *struct{ EncryptionUserAssignedIdentity string }
			KeyVaultProperties              *struct{ KeyName, CurrentVersionedKeyIdentifier string }
		}
		Identity struct {
			Type                   string
			UserAssignedIdentities map[string]struct{ PrincipalID string }
		}
	}
	var acct azAccount
	out(&acct, "storage", "account", "create", "-g", "rg1", "-n", "azacct", "-l", "local", "--sku", "Standard_LRS",
		"--require-infrastructure-encryption")
	if acct.Encryption.KeySource != "Microsoft.Storage" || !acct.Encryption.RequireInfrastructureEncryption {
		t.Fatalf("az storage account create: %+v", acct)
	}
	type azScope struct{ Name, Source, State string }
	var sc azScope
	out(&sc, "storage", "account", "encryption-scope", "create", "-g", "rg1", "--account-name", "azacct", "-n", "azscope", "-s", "Microsoft.Storage")
	if sc.Name != "azscope" || sc.State != "Enabled" {
		t.Fatalf("az storage account encryption-scope create: %+v", sc)
	}
	out(&sc, "storage", "account", "encryption-scope", "create", "-g", "rg1", "--account-name", "azacct", "-n", "offscope", "-s", "Microsoft.Storage")
	out(&sc, "storage", "account", "encryption-scope", "update", "-g", "rg1", "--account-name", "azacct", "-n", "offscope", "--state", "Disabled")
	if sc.State != "Disabled" {
		t.Fatalf("az storage account encryption-scope update: %+v", sc)
	}
	var scs []azScope
	out(&scs, "storage", "account", "encryption-scope", "list", "-g", "rg1", "--account-name", "azacct")
	if len(scs) != 2 {
		t.Fatalf("az storage account encryption-scope list: %+v", scs)
	}

	// the account's key moves to the vault, used as the user-assigned identity
	vaultPath := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/azkv"
	operatorARM(t, ts, "PUT", vaultPath, map[string]any{"location": "local", "properties": map[string]any{
		"tenantId": sub, "sku": map[string]any{"family": "A", "name": "standard"}}})
	kvAdmin(t, ts, "CreateKey", "azkv", "cmk", "", map[string]any{"kty": "RSA", "key_size": 2048})
	grantARM(t, ts, id.PrincipalID, roleCryptoServiceUser, vaultPath)
	out(&acct, "storage", "account", "update", "-g", "rg1", "-n", "azacct", "--identity-type", "UserAssigned", "--user-identity-id", id.ID,
		"--encryption-key-source", "Microsoft.Keyvault", "--encryption-key-vault", vaultURL(ts, "azkv"), "--encryption-key-name", "cmk",
		"--key-vault-user-identity-id", id.ID)
	e := acct.Encryption
	if e.KeySource != "Microsoft.Keyvault" || e.EncryptionIdentity == nil || e.EncryptionIdentity.EncryptionUserAssignedIdentity != id.ID ||
		e.KeyVaultProperties == nil || !strings.Contains(e.KeyVaultProperties.CurrentVersionedKeyIdentifier, "/keys/cmk/") ||
		acct.Identity.Type != "UserAssigned" || acct.Identity.UserAssignedIdentities[id.ID].PrincipalID != id.PrincipalID {
		t.Fatalf("az storage account update: %+v", acct)
	}

	// the data plane, with a key az lists: a scoped write, a refused one
	var keys []struct{ KeyName, Value string }
	out(&keys, "storage", "account", "keys", "list", "-g", "rg1", "-n", "azacct")
	dc := accountClients(t, ts, "azacct", keys[0].Value)
	cx := ctx(t)
	_, err := dc.blob.CreateContainer(cx, "azdata", nil)
	must(t, err)
	canary := "AZMGMTCANARY-27fb"
	content := []byte(strings.Repeat(canary+" ", 2000))
	_, err = dc.blob.UploadBuffer(cx, "azdata", "cmk", content, nil)
	must(t, err)
	_, err = dc.blob.UploadBuffer(cx, "azdata", "scoped", content, &blockblob.UploadBufferOptions{CPKScopeInfo: &blob.CPKScopeInfo{EncryptionScope: to.Ptr("azscope")}})
	must(t, err)
	_, err = dc.blob.UploadBuffer(cx, "azdata", "off", content, &blockblob.UploadBufferOptions{CPKScopeInfo: &blob.CPKScopeInfo{EncryptionScope: to.Ptr("offscope")}})
	if code := errorCode(err); code == "" {
		t.Fatal("a write under a disabled scope succeeded")
	}
	for _, name := range []string{"cmk", "scoped"} {
		if got := download(t, dc.blob.ServiceClient().NewContainerClient("azdata").NewBlobClient(name), nil); string(got) != string(content) {
			t.Fatalf("%s: read back %d bytes", name, len(got))
		}
	}
	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}
