package e2e

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/atrest/atrest/internal/admin"
)

// TestARMStorageSDK drives the management API with the official Go ARM SDK
// (armstorage) through a custom cloud whose Resource Manager and authority
// are atrest's identity listener: it creates an account with double
// encryption, moves it to a customer-managed key, makes and disables
// scopes, and the data plane follows each change.
func TestARMStorageSDK(t *testing.T) {
	ts := startServer(t, withHTTPS())
	cx := ctx(t)
	sub := ts.Mgmt().Subscription()
	ops := newPrincipal(t, ts, "armops", "", "")
	grantARM(t, ts, ops.ObjectID, roleContributor, "/subscriptions/"+sub)

	f := armStorage(t, ts, ops)
	accounts, scopes := f.NewAccountsClient(), f.NewEncryptionScopesClient()

	poller, err := accounts.BeginCreate(cx, "rg1", "armacct", armstorage.AccountCreateParameters{
		Location: to.Ptr("local"), Kind: to.Ptr(armstorage.KindStorageV2),
		SKU:      &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
		Identity: &armstorage.Identity{Type: to.Ptr(armstorage.IdentityTypeSystemAssigned)},
		Properties: &armstorage.AccountPropertiesCreateParameters{Encryption: &armstorage.Encryption{
			KeySource: to.Ptr(armstorage.KeySourceMicrosoftStorage), RequireInfrastructureEncryption: to.Ptr(true)}},
	}, nil)
	must(t, err)
	created, err := poller.PollUntilDone(cx, &runtime.PollUntilDoneOptions{Frequency: 50 * time.Millisecond})
	must(t, err)
	if created.Identity == nil || created.Identity.PrincipalID == nil || *created.Identity.PrincipalID == "" {
		t.Fatalf("created account has no identity: %+v", created.Identity)
	}
	if e := created.Properties.Encryption; e == nil || !*e.RequireInfrastructureEncryption || *e.KeySource != armstorage.KeySourceMicrosoftStorage {
		t.Fatalf("created account encryption: %+v", created.Properties.Encryption)
	}
	if *created.Properties.ProvisioningState != armstorage.ProvisioningStateSucceeded {
		t.Fatalf("provisioning state %v", *created.Properties.ProvisioningState)
	}

	var listed []string
	for pg := accounts.NewListByResourceGroupPager("rg1", nil); pg.More(); {
		page, err := pg.NextPage(cx)
		must(t, err)
		for _, a := range page.Value {
			listed = append(listed, *a.Name)
		}
	}
	if !slices.Contains(listed, "armacct") {
		t.Fatalf("accounts in rg1: %v", listed)
	}
	keys, err := accounts.ListKeys(cx, "rg1", "armacct", nil)
	must(t, err)
	if len(keys.Keys) != 2 || *keys.Keys[0].Value == "" {
		t.Fatalf("keys: %+v", keys.Keys)
	}

	// infrastructure encryption is fixed at creation
	_, err = accounts.Update(cx, "rg1", "armacct", armstorage.AccountUpdateParameters{Properties: &armstorage.AccountPropertiesUpdateParameters{
		Encryption: &armstorage.Encryption{RequireInfrastructureEncryption: to.Ptr(false)}}}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusConflict {
		t.Fatalf("changing requireInfrastructureEncryption: %v", err)
	}

	// move the account to a customer-managed key its identity may use
	vaultPath := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/armkv"
	operatorARM(t, ts, "PUT", vaultPath, map[string]any{"location": "local", "properties": map[string]any{
		"tenantId": sub, "sku": map[string]any{"family": "A", "name": "standard"}}})
	kvAdmin(t, ts, "CreateKey", "armkv", "cmk", "", map[string]any{"kty": "RSA", "key_size": 2048})
	grantARM(t, ts, *created.Identity.PrincipalID, roleCryptoServiceUser, vaultPath)
	upd, err := accounts.Update(cx, "rg1", "armacct", armstorage.AccountUpdateParameters{Properties: &armstorage.AccountPropertiesUpdateParameters{
		Encryption: &armstorage.Encryption{KeySource: to.Ptr(armstorage.KeySourceMicrosoftKeyvault),
			KeyVaultProperties: &armstorage.KeyVaultProperties{KeyVaultURI: to.Ptr(vaultURL(ts, "armkv")), KeyName: to.Ptr("cmk")}}}}, nil)
	must(t, err)
	got, err := accounts.GetProperties(cx, "rg1", "armacct", nil)
	must(t, err)
	for _, e := range []*armstorage.Encryption{upd.Properties.Encryption, got.Properties.Encryption} {
		if *e.KeySource != armstorage.KeySourceMicrosoftKeyvault || e.KeyVaultProperties == nil || *e.KeyVaultProperties.KeyName != "cmk" ||
			!*e.RequireInfrastructureEncryption {
			t.Fatalf("encryption after the update: %+v", e)
		}
	}

	// scopes: one under the platform's keys, one under the vault's key
	_, err = scopes.Put(cx, "rg1", "armacct", "plain", armstorage.EncryptionScope{EncryptionScopeProperties: &armstorage.EncryptionScopeProperties{
		Source: to.Ptr(armstorage.EncryptionScopeSourceMicrosoftStorage)}}, nil)
	must(t, err)
	kvs, err := scopes.Put(cx, "rg1", "armacct", "vaulted", armstorage.EncryptionScope{EncryptionScopeProperties: &armstorage.EncryptionScopeProperties{
		Source:             to.Ptr(armstorage.EncryptionScopeSourceMicrosoftKeyVault),
		KeyVaultProperties: &armstorage.EncryptionScopeKeyVaultProperties{KeyURI: to.Ptr(vaultURL(ts, "armkv") + "/keys/cmk")}}}, nil)
	must(t, err)
	if *kvs.EncryptionScopeProperties.State != armstorage.EncryptionScopeStateEnabled || !strings.HasSuffix(*kvs.EncryptionScopeProperties.KeyVaultProperties.KeyURI, "/keys/cmk") {
		t.Fatalf("vault scope: %+v", kvs.EncryptionScopeProperties)
	}
	var names []string
	for pg := scopes.NewListPager("rg1", "armacct", nil); pg.More(); {
		page, err := pg.NextPage(cx)
		must(t, err)
		for _, s := range page.Value {
			names = append(names, *s.Name)
		}
	}
	slices.Sort(names)
	if strings.Join(names, ",") != "plain,vaulted" {
		t.Fatalf("scopes listed: %v", names)
	}

	// the data plane follows: writes under each scope, then a disabled scope refuses
	dc := accountClients(t, ts, "armacct", *keys.Keys[0].Value)
	cont := dc.blob.ServiceClient().NewContainerClient("armdata")
	_, err = cont.Create(cx, nil)
	must(t, err)
	canary := "ARMCANARY-5c1e"
	content := []byte(strings.Repeat(canary+" ", 2000))
	for _, sc := range []string{"plain", "vaulted"} {
		_, err := cont.NewBlockBlobClient(sc).UploadBuffer(cx, content, &blockblob.UploadBufferOptions{
			CPKScopeInfo: &blob.CPKScopeInfo{EncryptionScope: to.Ptr(sc)}, Metadata: map[string]*string{"m": to.Ptr(canary)}})
		must(t, err)
	}
	_, err = scopes.Patch(cx, "rg1", "armacct", "vaulted", armstorage.EncryptionScope{EncryptionScopeProperties: &armstorage.EncryptionScopeProperties{
		State: to.Ptr(armstorage.EncryptionScopeStateDisabled)}}, nil)
	must(t, err)
	gs, err := scopes.Get(cx, "rg1", "armacct", "vaulted", nil)
	must(t, err)
	if *gs.EncryptionScopeProperties.State != armstorage.EncryptionScopeStateDisabled {
		t.Fatalf("patched scope state %v", *gs.EncryptionScopeProperties.State)
	}
	if _, err := cont.NewBlobClient("vaulted").DownloadStream(cx, nil); !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		t.Fatalf("read under a disabled scope: %v", err)
	}
	if b := download(t, cont.NewBlobClient("plain"), nil); string(b) != string(content) {
		t.Fatalf("read under the enabled scope: %d bytes", len(b))
	}

	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}

// armStorage is armstorage's client factory for a principal, through a
// custom cloud whose authority and Resource Manager are the identity
// listener.
func armStorage(t testing.TB, ts *testServer, c admin.Credentials) *armstorage.ClientFactory {
	t.Helper()
	hc := kvTransport(t, ts.CAFile)
	cfg := cloud.Configuration{ActiveDirectoryAuthorityHost: ts.IdentityURL + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: ts.IdentityURL, Audience: ts.IdentityURL}}}
	cred, err := azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{Cloud: cfg, Transport: hc}, DisableInstanceDiscovery: true})
	must(t, err)
	f, err := armstorage.NewClientFactory(ts.Mgmt().Subscription(), cred, &arm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud: cfg, Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}})
	must(t, err)
	return f
}
