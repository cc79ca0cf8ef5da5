package e2e

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/atrest/atrest/internal/server"
)

// TestUserAssignedIdentityCMK moves an account's customer-managed keys
// (its own and a scope's) from its system-assigned identity to a
// user-assigned one made through Microsoft.ManagedIdentity: the system
// identity's role then no longer matters, the user-assigned identity's
// does, and deleting that identity revokes the keys.
func TestUserAssignedIdentityCMK(t *testing.T) {
	ts := startServer(t, withHTTPS(), withKeys(server.KeyConfig{CMKCacheTTL: cmkWindow}))
	cx := ctx(t)
	sub := ts.Mgmt().Subscription()
	ops := newPrincipal(t, ts, "uamiops", "", "")
	grantARM(t, ts, ops.ObjectID, roleContributor, "/subscriptions/"+sub)
	raw := newARMClient(t, ts, ops)
	f := armStorage(t, ts, ops)
	accounts, scopes := f.NewAccountsClient(), f.NewEncryptionScopesClient()

	// vault and key; the account starts on its system-assigned identity
	vaultPath := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/uamikv"
	operatorARM(t, ts, "PUT", vaultPath, map[string]any{"location": "local", "properties": map[string]any{
		"tenantId": sub, "sku": map[string]any{"family": "A", "name": "standard"}}})
	kvAdmin(t, ts, "CreateKey", "uamikv", "cmk", "", map[string]any{"kty": "RSA", "key_size": 2048})
	kvProps := &armstorage.KeyVaultProperties{KeyVaultURI: to.Ptr(vaultURL(ts, "uamikv")), KeyName: to.Ptr("cmk")}
	poller, err := accounts.BeginCreate(cx, "rg1", "uamiacct", armstorage.AccountCreateParameters{
		Location: to.Ptr("local"), Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
		Identity: &armstorage.Identity{Type: to.Ptr(armstorage.IdentityTypeSystemAssigned)}}, nil)
	must(t, err)
	created, err := poller.PollUntilDone(cx, &runtime.PollUntilDoneOptions{Frequency: 50 * time.Millisecond})
	must(t, err)
	systemRole := grantARM(t, ts, *created.Identity.PrincipalID, roleCryptoServiceUser, vaultPath)
	_, err = accounts.Update(cx, "rg1", "uamiacct", armstorage.AccountUpdateParameters{Properties: &armstorage.AccountPropertiesUpdateParameters{
		Encryption: &armstorage.Encryption{KeySource: to.Ptr(armstorage.KeySourceMicrosoftKeyvault), KeyVaultProperties: kvProps}}}, nil)
	must(t, err)
	_, err = scopes.Put(cx, "rg1", "uamiacct", "vaulted", armstorage.EncryptionScope{EncryptionScopeProperties: &armstorage.EncryptionScopeProperties{
		Source:             to.Ptr(armstorage.EncryptionScopeSourceMicrosoftKeyVault),
		KeyVaultProperties: &armstorage.EncryptionScopeKeyVaultProperties{KeyURI: to.Ptr(vaultURL(ts, "uamikv") + "/keys/cmk")}}}, nil)
	must(t, err)

	keys, err := accounts.ListKeys(cx, "rg1", "uamiacct", nil)
	must(t, err)
	dc := accountClients(t, ts, "uamiacct", *keys.Keys[0].Value)
	cont := dc.blob.ServiceClient().NewContainerClient("data")
	_, err = cont.Create(cx, nil)
	must(t, err)
	canary := "UAMICANARY-93d0"
	content := []byte(strings.Repeat(canary+" ", 3000))
	_, err = cont.NewBlockBlobClient("plain").UploadBuffer(cx, content, nil)
	must(t, err)
	_, err = cont.NewBlockBlobClient("scoped").UploadBuffer(cx, content, &blockblob.UploadBufferOptions{
		CPKScopeInfo: &blob.CPKScopeInfo{EncryptionScope: to.Ptr("vaulted")}})
	must(t, err)
	_, err = dc.queue.CreateQueue(cx, "queue1", nil)
	must(t, err)
	_, err = dc.queue.NewQueueClient("queue1").EnqueueMessage(cx, canary+"-message", nil)
	must(t, err)
	read := func(name string) string {
		r, err := cont.NewBlobClient(name).DownloadStream(cx, nil)
		if err != nil {
			return errorCode(err)
		}
		got, err := readAllClose(r.Body)
		if err != nil || !bytes.Equal(got, content) {
			return "content differs"
		}
		return ""
	}
	readAll := func() string {
		for _, name := range []string{"plain", "scoped"} {
			if got := read(name); got != "" {
				return name + ": " + got
			}
		}
		if _, err := dc.queue.NewQueueClient("queue1").PeekMessage(cx, nil); err != nil {
			return "queue: " + errorCode(err)
		}
		return ""
	}
	if got := readAll(); got != "" {
		t.Fatalf("under the system-assigned identity: %s", got)
	}

	// a user-assigned identity: 201 when made, 200 when put again
	idPath := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/keyreader"
	var uami struct {
		ID         string `json:"id"`
		Properties struct{ PrincipalID, ClientID, TenantID string }
	}
	if st := raw.do("PUT", idPath, map[string]any{"location": "local"}, &uami); st != http.StatusCreated || uami.Properties.PrincipalID == "" || uami.Properties.ClientID == "" {
		t.Fatalf("create identity: %d %+v", st, uami)
	}
	if st := raw.do("PUT", idPath, map[string]any{"location": "local", "tags": map[string]string{"k": "v"}}, nil); st != http.StatusOK {
		t.Fatalf("put identity again: %d", st)
	}
	uamiRole := grantARM(t, ts, uami.Properties.PrincipalID, roleCryptoServiceUser, vaultPath)

	// naming an identity that does not exist, or two, is refused
	var re *azcore.ResponseError
	_, err = accounts.Update(cx, "rg1", "uamiacct", armstorage.AccountUpdateParameters{
		Identity: &armstorage.Identity{Type: to.Ptr(armstorage.IdentityTypeSystemAssignedUserAssigned),
			UserAssignedIdentities: map[string]*armstorage.UserAssignedIdentity{strings.Replace(uami.ID, "keyreader", "nosuch", 1): {}}}}, nil)
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		t.Fatalf("an identity that does not exist: %v", err)
	}
	_, err = accounts.Update(cx, "rg1", "uamiacct", armstorage.AccountUpdateParameters{Properties: &armstorage.AccountPropertiesUpdateParameters{
		Encryption: &armstorage.Encryption{KeySource: to.Ptr(armstorage.KeySourceMicrosoftKeyvault), KeyVaultProperties: kvProps,
			EncryptionIdentity: &armstorage.EncryptionIdentity{EncryptionUserAssignedIdentity: to.Ptr(uami.ID)}}}}, nil)
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		t.Fatalf("an encryption identity the account does not have: %v", err)
	}

	upd, err := accounts.Update(cx, "rg1", "uamiacct", armstorage.AccountUpdateParameters{
		Identity: &armstorage.Identity{Type: to.Ptr(armstorage.IdentityTypeSystemAssignedUserAssigned),
			UserAssignedIdentities: map[string]*armstorage.UserAssignedIdentity{uami.ID: {}}},
		Properties: &armstorage.AccountPropertiesUpdateParameters{Encryption: &armstorage.Encryption{
			KeySource: to.Ptr(armstorage.KeySourceMicrosoftKeyvault), KeyVaultProperties: kvProps,
			EncryptionIdentity: &armstorage.EncryptionIdentity{EncryptionUserAssignedIdentity: to.Ptr(uami.ID)}}}}, nil)
	must(t, err)
	if u := upd.Identity.UserAssignedIdentities[uami.ID]; *upd.Identity.Type != armstorage.IdentityTypeSystemAssignedUserAssigned || u == nil ||
		*u.PrincipalID != uami.Properties.PrincipalID || *u.ClientID != uami.Properties.ClientID {
		t.Fatalf("identity after the update: %+v", upd.Identity)
	}
	if e := upd.Properties.Encryption.EncryptionIdentity; e == nil || *e.EncryptionUserAssignedIdentity != uami.ID {
		t.Fatalf("encryption identity after the update: %+v", e)
	}

	// the system identity's role no longer matters
	operatorARM(t, ts, "DELETE", vaultPath+"/providers/Microsoft.Authorization/roleAssignments/"+systemRole, nil)
	time.Sleep(cmkWindow + 300*time.Millisecond)
	if got := readAll(); got != "" {
		t.Fatalf("system identity's role removed, keys used as the user-assigned one: %s", got)
	}

	// the user-assigned identity's does
	limit := cmkWindow + 3*time.Second
	operatorARM(t, ts, "DELETE", vaultPath+"/providers/Microsoft.Authorization/roleAssignments/"+uamiRole, nil)
	within(t, limit, "user-assigned identity's role removed", "KeyVaultEncryptionKeyNotFound", func() string { return read("plain") })
	if got := read("scoped"); got != "KeyVaultEncryptionKeyNotFound" {
		t.Fatalf("scoped blob with the role removed: %q", got)
	}
	grantARM(t, ts, uami.Properties.PrincipalID, roleCryptoServiceUser, vaultPath)
	within(t, limit, "role granted again", "", readAll)

	// identities and the account's choice survive a restart
	ts.stop()
	ts = startServerAt(t, ts.dir, withHTTPS(), withKeys(server.KeyConfig{CMKCacheTTL: cmkWindow}))
	raw = newARMClient(t, ts, ops)
	var again struct{ Properties struct{ PrincipalID string } }
	if st := raw.do("GET", idPath, nil, &again); st != http.StatusOK || again.Properties.PrincipalID != uami.Properties.PrincipalID {
		t.Fatalf("identity after a restart: %d %+v", st, again)
	}
	dc = accountClients(t, ts, "uamiacct", *keys.Keys[0].Value)
	cont = dc.blob.ServiceClient().NewContainerClient("data")
	if got := readAll(); got != "" {
		t.Fatalf("after a restart: %s", got)
	}

	// deleting the identity revokes: no token can be had for it
	if st := raw.do("DELETE", idPath, nil, nil); st != http.StatusOK {
		t.Fatalf("delete identity: %d", st)
	}
	if st := raw.do("DELETE", idPath, nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete identity again: %d", st)
	}
	within(t, limit, "identity deleted", "KeyVaultAccessTokenCannotBeAcquired", func() string { return read("plain") })

	// the keys are the vault's, not the identity's: a new identity with the
	// role takes over, the scope's key too, and nothing was lost
	id2Path := strings.Replace(idPath, "keyreader", "keyreader2", 1)
	var uami2 struct {
		ID         string `json:"id"`
		Properties struct{ PrincipalID string }
	}
	if st := raw.do("PUT", id2Path, map[string]any{"location": "local"}, &uami2); st != http.StatusCreated {
		t.Fatalf("create the second identity: %d", st)
	}
	grantARM(t, ts, uami2.Properties.PrincipalID, roleCryptoServiceUser, vaultPath)
	f = armStorage(t, ts, ops)
	_, err = f.NewAccountsClient().Update(cx, "rg1", "uamiacct", armstorage.AccountUpdateParameters{
		Identity: &armstorage.Identity{Type: to.Ptr(armstorage.IdentityTypeSystemAssignedUserAssigned),
			UserAssignedIdentities: map[string]*armstorage.UserAssignedIdentity{uami2.ID: {}}},
		Properties: &armstorage.AccountPropertiesUpdateParameters{Encryption: &armstorage.Encryption{
			KeySource: to.Ptr(armstorage.KeySourceMicrosoftKeyvault), KeyVaultProperties: kvProps,
			EncryptionIdentity: &armstorage.EncryptionIdentity{EncryptionUserAssignedIdentity: to.Ptr(uami2.ID)}}}}, nil)
	must(t, err)
	within(t, limit, "a new identity took over", "", readAll)

	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}
