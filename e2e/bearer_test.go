package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/atrest/atrest/internal/audit"
	"github.com/atrest/atrest/internal/server"
)

// TestBearerRBACMatrix: service principals holding each storage data role,
// with tokens from the built-in issuer, against each blob operation.
func TestBearerRBACMatrix(t *testing.T) {
	ts := startServer(t, withHTTPS())
	hc := kvTransport(t, ts.CAFile)
	cx := ctx(t)
	admin := ts.tlsClient(t)
	_, err := admin.CreateContainer(cx, "data", nil)
	must(t, err)
	_, err = admin.UploadBuffer(cx, "data", "existing", []byte("hello"), nil)
	must(t, err)
	acct := "/storageaccounts/devstoreaccount1"
	type op struct {
		name string
		run  func(c *azblob.Client) error
	}
	n := 0
	ops := []op{
		{"read", func(c *azblob.Client) error { _, err := c.DownloadStream(cx, "data", "existing", nil); return err }},
		{"list", func(c *azblob.Client) error {
			_, err := c.NewListBlobsFlatPager("data", nil).NextPage(cx)
			return err
		}},
		{"write", func(c *azblob.Client) error {
			n++
			_, err := c.UploadBuffer(cx, "data", fmt.Sprint("w", n), []byte("x"), nil)
			return err
		}},
		{"delete", func(c *azblob.Client) error {
			n++
			name := fmt.Sprint("d", n)
			if _, err := admin.UploadBuffer(cx, "data", name, []byte("x"), nil); err != nil {
				t.Fatal(err)
			}
			_, err := c.DeleteBlob(cx, "data", name, nil)
			return err
		}},
		{"create container", func(c *azblob.Client) error {
			n++
			_, err := c.CreateContainer(cx, fmt.Sprint("cont-", n), nil)
			return err
		}},
	}
	// expected outcomes, from the built-in roles' definitions
	allowed := map[string]string{
		"Storage Blob Data Owner":        "read list write delete create container",
		"Storage Blob Data Contributor":  "read list write delete create container",
		"Storage Blob Data Reader":       "read list",
		"Storage Queue Data Contributor": "",
		"Key Vault Crypto User":          "",
		"":                               "",
	}
	i := 0
	for role, want := range allowed {
		i++
		creds := newPrincipal(t, ts, fmt.Sprint("app", i), role, acct)
		cred := goCredential(t, ts, creds, hc)
		c, err := azblob.NewClient(ts.BlobURL+"/devstoreaccount1", cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
			Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}})
		must(t, err)
		for _, o := range ops {
			err := o.run(c)
			ok := strings.Contains(" "+want+" ", " "+o.name+" ")
			switch {
			case ok && err != nil:
				t.Fatalf("%q %s: refused: %v", role, o.name, err)
			case !ok && !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch):
				t.Fatalf("%q %s: want 403 AuthorizationPermissionMismatch, got %v", role, o.name, err)
			}
		}
	}
	// a container-scoped assignment covers that container only
	creds := newPrincipal(t, ts, "scoped", "Storage Blob Data Reader", acct+"/containers/data")
	c, _ := azblob.NewClient(ts.BlobURL+"/devstoreaccount1", goCredential(t, ts, creds, hc), &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if _, err := c.DownloadStream(cx, "data", "existing", nil); err != nil {
		t.Fatalf("container-scoped reader: %v", err)
	}
	_, err = admin.CreateContainer(cx, "other", nil)
	must(t, err)
	_, err = c.NewListBlobsFlatPager("other", nil).NextPage(cx)
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch)

	// the decisions are in the audit log, with no token or secret in it
	ts.stop()
	var allowedN, deniedN int
	must(t, audit.Read(server.AuditFile(ts.dir), "keyvault", ts.Stores.Keys, func(e audit.Event) error {
		if strings.HasPrefix(e.Operation, "GetBlob") || e.Operation == "PutBlob" || e.Operation == "DeleteBlob" {
			switch e.Result {
			case audit.Allowed:
				allowedN++
			case audit.Denied:
				deniedN++
			}
		}
		return nil
	}))
	if allowedN == 0 || deniedN == 0 {
		t.Fatalf("audit log: %d allowed, %d denied storage decisions", allowedN, deniedN)
	}
}

// TestBearerOtherCredentials: managed identity in Go, a refused audience,
// HTTP refused, and the Python ClientSecretCredential.
func TestBearerOtherCredentials(t *testing.T) {
	ts := startServer(t, withHTTPS())
	hc := kvTransport(t, ts.CAFile)
	cx := ctx(t)
	_, err := ts.tlsClient(t).CreateContainer(cx, "mic", nil)
	must(t, err)
	var mi map[string]any
	adminDo(t, ts, "principal.create", map[string]any{"name": "app-mi", "managed": true}, &mi)
	adminDo(t, ts, "role.assign", map[string]any{"principal": "app-mi", "role": "Storage Blob Data Contributor", "scope": "/storageaccounts/devstoreaccount1"}, nil)
	secretText, _ := mi["secret"].(string)
	if secretText == "" {
		t.Fatalf("managed identity has no secret: %v", mi)
	}
	t.Setenv("IDENTITY_ENDPOINT", ts.IdentityURL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", secretText)
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: hc}})
	must(t, err)
	c, err := azblob.NewClient(ts.BlobURL+"/devstoreaccount1", cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}})
	must(t, err)
	_, err = c.UploadBuffer(cx, "mic", "by-managed-identity", []byte("no secret in the app"), nil)
	must(t, err)

	// a token for another audience is refused with 401 and a challenge...
	creds := newPrincipal(t, ts, "app-aud", "Storage Blob Data Owner", "/storageaccounts/devstoreaccount1")
	pc := goCredential(t, ts, creds, hc)
	tok, err := pc.GetToken(cx, policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	must(t, err)
	req, _ := http.NewRequest("GET", ts.BlobURL+"/devstoreaccount1/mic/by-managed-identity", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("x-ms-version", "2021-06-08")
	resp, err := hc.Do(req)
	must(t, err)
	resp.Body.Close()
	ch := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || resp.Header.Get("x-ms-error-code") != "InvalidAuthenticationInfo" ||
		!strings.Contains(ch, "authorization_uri="+ts.IdentityURL+"/") || !strings.Contains(ch, "resource_id=https://storage.azure.com") {
		t.Fatalf("wrong audience: %d %q %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"), ch)
	}
	// ...which the Go client follows: asked for the vault audience, it
	// retries with the resource the challenge names and succeeds
	other, err := azblob.NewClient(ts.BlobURL+"/devstoreaccount1", pc, &azblob.ClientOptions{
		Audience: "https://vault.azure.net", ClientOptions: azcore.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}})
	must(t, err)
	if _, err := other.DownloadStream(cx, "mic", "by-managed-identity", nil); err != nil {
		t.Fatalf("challenge retry: %v", err)
	}
	// bearer tokens only over HTTPS
	plain := startServer(t)
	req, _ = http.NewRequest("GET", plain.BlobURL+"/devstoreaccount1/mic/x", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err = http.DefaultClient.Do(req)
	must(t, err)
	expectError(t, resp, 403, "AuthenticationFailed")

	py := debianPython(t)
	creds = newPrincipal(t, ts, "app-py", "Storage Blob Data Reader", "/storageaccounts/devstoreaccount1")
	out := runClient(t, 2*time.Minute, []string{"REQUESTS_CA_BUNDLE=" + ts.CAFile}, py, "-c", fmt.Sprintf(`
from azure.identity import ClientSecretCredential
from azure.storage.blob import BlobServiceClient
from azure.core.exceptions import HttpResponseError
cred = ClientSecretCredential(%q, %q, %q, authority=%q, instance_discovery=False)
bsc = BlobServiceClient(%q, credential=cred)
print(bsc.get_blob_client("mic", "by-managed-identity").download_blob().readall().decode())
try:
    bsc.get_blob_client("mic", "x").upload_blob(b"x")
    print("WRITE ALLOWED")
except HttpResponseError as e:
    print(e.error_code)
`, creds.TenantID, creds.ClientID, creds.Secret, ts.IdentityURL, ts.BlobURL+"/devstoreaccount1"))
	if !strings.Contains(out, "no secret in the app") || !strings.Contains(out, "AuthorizationPermissionMismatch") {
		t.Fatalf("python bearer:\n%s", out)
	}
}

// TestUserDelegationSAS: a principal with a bearer token gets a user
// delegation key (Python SDK), signs a SAS with it, and the SAS works only
// while the principal still holds a role that allows the operation.
func TestUserDelegationSAS(t *testing.T) {
	py := debianPython(t)
	ts := startServer(t, withHTTPS())
	cx := ctx(t)
	_, err := ts.tlsClient(t).CreateContainer(cx, "udk", nil)
	must(t, err)
	_, err = ts.tlsClient(t).UploadBuffer(cx, "udk", "doc", []byte("delegated read"), nil)
	must(t, err)
	creds := newPrincipal(t, ts, "app-udk", "Storage Blob Data Reader", "/storageaccounts/devstoreaccount1")
	nobody := newPrincipal(t, ts, "app-none", "", "")
	script := `
import sys
from datetime import datetime, timedelta
from azure.identity import ClientSecretCredential
from azure.storage.blob import BlobServiceClient, BlobClient, BlobSasPermissions, generate_blob_sas
from azure.core.exceptions import HttpResponseError
tenant, cid, secret, authority, base, mode = sys.argv[1:7]
cred = ClientSecretCredential(tenant, cid, secret, authority=authority, instance_discovery=False)
bsc = BlobServiceClient(base, credential=cred)
now = datetime.utcnow()
try:
    udk = bsc.get_user_delegation_key(now - timedelta(minutes=1), now + timedelta(hours=1))
except HttpResponseError as e:
    print("KEY REFUSED", e.error_code); sys.exit(0)
sas = generate_blob_sas("devstoreaccount1", "udk", "doc", user_delegation_key=udk,
                        permission=BlobSasPermissions(read=True, write=True), expiry=now + timedelta(hours=1))
print("SAS", sas)
print("READ", BlobClient.from_blob_url(base + "/udk/doc", credential=sas).download_blob().readall().decode())
try:
    BlobClient.from_blob_url(base + "/udk/doc", credential=sas).upload_blob(b"x", overwrite=True)
    print("WRITE ALLOWED")
except HttpResponseError as e:
    print("WRITE", e.error_code)
`
	env := []string{"REQUESTS_CA_BUNDLE=" + ts.CAFile}
	base := ts.BlobURL + "/devstoreaccount1"
	out := runClient(t, 2*time.Minute, env, py, "-c", script, creds.TenantID, creds.ClientID, creds.Secret, ts.IdentityURL, base, "x")
	// the SAS says rw, but the principal may only read: the write is refused
	if !strings.Contains(out, "READ delegated read") || !strings.Contains(out, "WRITE AuthorizationPermissionMismatch") {
		t.Fatalf("user delegation SAS:\n%q", out)
	}
	var sasToken string
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(line, "SAS "); ok {
			sasToken = s
		}
	}
	out = runClient(t, 2*time.Minute, env, py, "-c", script, nobody.TenantID, nobody.ClientID, nobody.Secret, ts.IdentityURL, base, "x")
	if !strings.Contains(out, "KEY REFUSED AuthorizationPermissionMismatch") {
		t.Fatalf("a principal without a role got a key:\n%s", out)
	}
	// forging the key's fields breaks the signature
	forged := strings.Replace(sasToken, "skoid=", "skoid=0", 1)
	resp, err := kvTransport(t, ts.CAFile).Get(base + "/udk/doc?" + forged)
	must(t, err)
	expectError(t, resp, 403, "AuthenticationFailed")
	// removing the role revokes every SAS signed with the principal's keys
	var assigned []struct {
		ID string `json:"id"`
	}
	adminDo(t, ts, "role.list", map[string]any{"principal": "app-udk"}, &assigned)
	if len(assigned) != 1 {
		t.Fatalf("assignments of app-udk: %v", assigned)
	}
	adminDo(t, ts, "role.remove", map[string]any{"id": assigned[0].ID}, nil)
	resp, err = kvTransport(t, ts.CAFile).Get(base + "/udk/doc?" + sasToken)
	must(t, err)
	expectError(t, resp, 403, "AuthorizationPermissionMismatch")
}
