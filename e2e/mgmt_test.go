package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// TestManagementAccountsAndScopes drives the management API over HTTPS
// with a token from the built-in issuer: a new account is served by the
// data plane at once, its scopes are used by the Go SDK's CPKScopeInfo,
// and a disabled scope refuses its blobs.
func TestManagementAccountsAndScopes(t *testing.T) {
	ts := startServer(t, withHTTPS())
	cx := ctx(t)
	ops := newPrincipal(t, ts, "ops", "", "")
	arm := newARMClient(t, ts, ops)
	path := arm.account("rg1", "acme1")
	body := map[string]any{"location": "local", "kind": "StorageV2", "sku": map[string]any{"name": "Standard_LRS"},
		"identity": map[string]any{"type": "SystemAssigned"}}
	if st := arm.do("PUT", path, body, nil); st != http.StatusForbidden {
		t.Fatalf("create without a role: %d", st)
	}
	grantARM(t, ts, ops.ObjectID, roleContributor, "/subscriptions/"+arm.sub)

	var acct struct {
		Name     string `json:"name"`
		Identity struct {
			Type, PrincipalID, TenantID string
		} `json:"identity"`
		Properties struct {
			Encryption struct {
				KeySource                       string `json:"keySource"`
				RequireInfrastructureEncryption bool   `json:"requireInfrastructureEncryption"`
			} `json:"encryption"`
			PrimaryEndpoints map[string]string `json:"primaryEndpoints"`
		} `json:"properties"`
	}
	arm.must("PUT", path, body, &acct)
	if acct.Identity.PrincipalID == "" || acct.Properties.Encryption.KeySource != "Microsoft.Storage" {
		t.Fatalf("created account: %+v", acct)
	}
	var list struct{ Value []struct{ Name string } }
	arm.must("GET", "/subscriptions/"+arm.sub+"/providers/Microsoft.Storage/storageAccounts", nil, &list)
	names := []string{}
	for _, v := range list.Value {
		names = append(names, v.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "acme1") || !strings.Contains(strings.Join(names, ","), "devstoreaccount1") {
		t.Fatalf("accounts listed: %v", names)
	}
	var keys struct {
		Keys []struct{ KeyName, Value string }
	}
	arm.must("POST", path+"/listKeys", nil, &keys)
	if len(keys.Keys) != 2 {
		t.Fatalf("keys: %+v", keys)
	}
	// requireInfrastructureEncryption is fixed at creation
	if st := arm.do("PATCH", path, map[string]any{"properties": map[string]any{"encryption": map[string]any{"requireInfrastructureEncryption": true}}}, nil); st != http.StatusConflict {
		t.Fatalf("changing requireInfrastructureEncryption: %d", st)
	}

	// scopes: one plain, one with infrastructure encryption
	arm.must("PUT", path+"/encryptionScopes/scope1", map[string]any{"properties": map[string]any{"source": "Microsoft.Storage"}}, nil)
	arm.must("PUT", path+"/encryptionScopes/scope2", map[string]any{"properties": map[string]any{"source": "Microsoft.Storage", "requireInfrastructureEncryption": true}}, nil)
	var scopes struct {
		Value []struct {
			Name       string
			Properties struct{ Source, State string }
		}
	}
	arm.must("GET", path+"/encryptionScopes", nil, &scopes)
	if len(scopes.Value) != 2 || scopes.Value[0].Properties.State != "Enabled" {
		t.Fatalf("scopes: %+v", scopes)
	}

	// the new account is served at once, with the key listKeys gave
	c, err := azblob.NewClientFromConnectionString(accountConn(ts, "acme1", keys.Keys[0].Value), &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: kvTransport(t, ts.CAFile), Retry: policy.RetryOptions{MaxRetries: -1}}})
	must(t, err)
	svc := c.ServiceClient()
	canary := "SCOPECANARY-41a7"
	content := []byte(strings.Repeat(canary+" ", 30000))
	_, err = svc.NewContainerClient("locked").Create(cx, &container.CreateOptions{CPKScopeInfo: &container.CPKScopeInfo{
		DefaultEncryptionScope: to.Ptr("scope1"), PreventEncryptionScopeOverride: to.Ptr(true)}})
	must(t, err)
	locked := svc.NewContainerClient("locked")
	up, err := locked.NewBlockBlobClient("a").UploadBuffer(cx, content, &blockblob.UploadBufferOptions{Metadata: map[string]*string{"m": to.Ptr(canary + "-meta")}})
	must(t, err)
	if up.EncryptionScope == nil || *up.EncryptionScope != "scope1" {
		t.Fatalf("upload under the default scope answered scope %v", up.EncryptionScope)
	}
	_, err = locked.NewBlockBlobClient("b").UploadBuffer(cx, content, &blockblob.UploadBufferOptions{CPKScopeInfo: &blob.CPKScopeInfo{EncryptionScope: to.Ptr("scope2")}})
	wantCode(t, err, bloberror.Code("EncryptionScopeOverrideDenied"))
	cp, err := locked.GetProperties(cx, nil)
	must(t, err)
	if *cp.DefaultEncryptionScope != "scope1" || !*cp.DenyEncryptionScopeOverride {
		t.Fatalf("container properties: %v %v", *cp.DefaultEncryptionScope, *cp.DenyEncryptionScopeOverride)
	}

	_, err = svc.NewContainerClient("open").Create(cx, nil)
	must(t, err)
	open := svc.NewContainerClient("open")
	_, err = open.NewBlockBlobClient("infra").UploadBuffer(cx, content, &blockblob.UploadBufferOptions{CPKScopeInfo: &blob.CPKScopeInfo{EncryptionScope: to.Ptr("scope2")}})
	must(t, err)
	_, err = open.NewBlockBlobClient("x").UploadBuffer(cx, content, &blockblob.UploadBufferOptions{CPKScopeInfo: &blob.CPKScopeInfo{EncryptionScope: to.Ptr("nosuch")}})
	wantCode(t, err, bloberror.Code("EncryptionScopeNotFound"))
	_, err = open.NewBlockBlobClient("x").UploadBuffer(cx, content, &blockblob.UploadBufferOptions{
		CPKScopeInfo: &blob.CPKScopeInfo{EncryptionScope: to.Ptr("scope1")}, CPKInfo: cpkInfo(bytes.Repeat([]byte{7}, 32))})
	wantCode(t, err, bloberror.InvalidHeaderValue)
	props, err := open.NewBlobClient("infra").GetProperties(cx, nil)
	must(t, err)
	if props.EncryptionScope == nil || *props.EncryptionScope != "scope2" {
		t.Fatalf("properties scope: %v", props.EncryptionScope)
	}
	pg, err := open.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Metadata: true}}).NextPage(cx)
	must(t, err)
	if it := pg.Segment.BlobItems[0]; it.Properties.EncryptionScope == nil || *it.Properties.EncryptionScope != "scope2" {
		t.Fatalf("listing: %+v", it.Properties)
	}
	lc, err := svc.NewListContainersPager(&service.ListContainersOptions{}).NextPage(cx)
	must(t, err)
	for _, it := range lc.ContainerItems {
		if *it.Name == "locked" && (it.Properties.DefaultEncryptionScope == nil || *it.Properties.DefaultEncryptionScope != "scope1") {
			t.Fatalf("list containers: %+v", it.Properties)
		}
	}

	// a disabled scope refuses its blobs' reads and writes; listing works
	arm.must("PATCH", path+"/encryptionScopes/scope1", map[string]any{"properties": map[string]any{"state": "Disabled"}}, nil)
	_, err = locked.NewBlobClient("a").DownloadStream(cx, nil)
	wantCode(t, err, bloberror.Code("EncryptionScopeDisabled"))
	_, err = locked.NewBlockBlobClient("c").UploadBuffer(cx, content, nil)
	wantCode(t, err, bloberror.Code("EncryptionScopeDisabled"))
	if _, err := locked.NewListBlobsFlatPager(nil).NextPage(cx); err != nil {
		t.Fatal(err)
	}
	arm.must("PATCH", path+"/encryptionScopes/scope1", map[string]any{"properties": map[string]any{"state": "Enabled"}}, nil)
	got, err := locked.NewBlobClient("a").DownloadStream(cx, nil)
	must(t, err)
	if b, _ := readAllClose(got.Body); !bytes.Equal(b, content) || meta(got.Metadata, "m") != canary+"-meta" {
		t.Fatal("scoped blob differs after re-enabling its scope")
	}

	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}
