package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

var noRetry = &azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}

func sasCred(t testing.TB) *azblob.SharedKeyCredential {
	cred, err := azblob.NewSharedKeyCredential("devstoreaccount1", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
	must(t, err)
	return cred
}

// TestSASMatrix: service SAS of each permission set against each blob
// operation: allowed exactly when the permission covers it, else 403
// AuthorizationPermissionMismatch.
func TestSASMatrix(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t)
	cx := ctx(t)
	_, err := c.CreateContainer(cx, "sas", nil)
	must(t, err)
	_, err = c.UploadBuffer(cx, "sas", "existing", []byte("hello"), nil)
	must(t, err)
	ab := c.ServiceClient().NewContainerClient("sas").NewAppendBlobClient("log")
	_, err = ab.Create(cx, nil)
	must(t, err)
	cred := sasCred(t)
	containerURL := ts.BlobURL + "/devstoreaccount1/sas"

	type op struct {
		name string
		// the permissions, any one of which allows the operation (from the REST reference)
		needs string
		run   func(cc *container.Client) error
	}
	n := 0
	ops := []op{
		{"read", "r", func(cc *container.Client) error {
			_, err := cc.NewBlobClient("existing").DownloadStream(cx, nil)
			return err
		}},
		{"properties", "r", func(cc *container.Client) error {
			_, err := cc.NewBlobClient("existing").GetProperties(cx, nil)
			return err
		}},
		{"list", "l", func(cc *container.Client) error {
			_, err := cc.NewListBlobsFlatPager(nil).NextPage(cx)
			return err
		}},
		{"write new", "cw", func(cc *container.Client) error {
			n++
			_, err := cc.NewBlockBlobClient(fmt.Sprint("new-", n)).Upload(cx, body([]byte("x")), nil)
			return err
		}},
		{"set metadata", "w", func(cc *container.Client) error {
			_, err := cc.NewBlobClient("existing").SetMetadata(cx, map[string]*string{"a": to.Ptr("b")}, nil)
			return err
		}},
		{"append", "aw", func(cc *container.Client) error {
			_, err := cc.NewAppendBlobClient("log").AppendBlock(cx, body([]byte("x")), nil)
			return err
		}},
		{"delete", "d", func(cc *container.Client) error {
			n++
			name := fmt.Sprint("victim-", n)
			if _, err := c.UploadBuffer(cx, "sas", name, []byte("x"), nil); err != nil {
				t.Fatal(err)
			}
			_, err := cc.NewBlobClient(name).Delete(cx, nil)
			return err
		}},
		{"get ACL", "", func(cc *container.Client) error { // account key only
			_, err := cc.GetAccessPolicy(cx, nil)
			return err
		}},
	}
	for _, perm := range []string{"r", "w", "d", "l", "c", "a", "racwdl"} {
		qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
			ContainerName: "sas", Permissions: perm}.SignWithSharedKey(cred)
		must(t, err)
		cc, err := container.NewClientWithNoCredential(containerURL+"?"+qp.Encode(), &container.ClientOptions{ClientOptions: *noRetry})
		must(t, err)
		for _, o := range ops {
			err := o.run(cc)
			allowed := o.needs != "" && strings.ContainsAny(perm, o.needs)
			switch {
			case allowed && err != nil:
				t.Fatalf("sp=%s %s: refused: %v", perm, o.name, err)
			case !allowed && err == nil:
				t.Fatalf("sp=%s %s: allowed", perm, o.name)
			case !allowed && !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch):
				t.Fatalf("sp=%s %s: %v", perm, o.name, err)
			}
		}
	}
}

func TestSASRefusals(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t)
	cx := ctx(t)
	_, err := c.CreateContainer(cx, "sas", nil)
	must(t, err)
	_, err = c.UploadBuffer(cx, "sas", "b", []byte("content"), &azblob.UploadBufferOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")}})
	must(t, err)
	cred := sasCred(t)
	blobURL := ts.BlobURL + "/devstoreaccount1/sas/b"
	sign := func(v sas.BlobSignatureValues) string {
		v.ContainerName, v.BlobName = "sas", "b"
		if v.Permissions == "" {
			v.Permissions = "r"
		}
		if v.ExpiryTime.IsZero() {
			v.ExpiryTime = time.Now().Add(time.Hour)
		}
		qp, err := v.SignWithSharedKey(cred)
		must(t, err)
		return blobURL + "?" + qp.Encode()
	}
	read := func(u string) (*blob.DownloadStreamResponse, error) {
		bc, err := blob.NewClientWithNoCredential(u, &blob.ClientOptions{ClientOptions: *noRetry})
		must(t, err)
		r, err := bc.DownloadStream(cx, nil)
		return &r, err
	}
	// a good one, with response header overrides
	r, err := read(sign(sas.BlobSignatureValues{ContentType: "application/x-override", ContentDisposition: "attachment"}))
	must(t, err)
	if *r.ContentType != "application/x-override" || *r.ContentDisposition != "attachment" {
		t.Fatalf("overrides not applied: %v %v", *r.ContentType, r.ContentDisposition)
	}
	good := sign(sas.BlobSignatureValues{})
	cases := map[string]struct {
		url  string
		code bloberror.Code
	}{
		"forged":             {strings.Replace(good, "sp=r", "sp=rw", 1), bloberror.AuthenticationFailed},
		"bad signature":      {good[:strings.Index(good, "sig=")] + "sig=" + strings.Repeat("A", 43) + "%3D", bloberror.AuthenticationFailed},
		"expired":            {sign(sas.BlobSignatureValues{ExpiryTime: time.Now().Add(-time.Minute)}), bloberror.AuthenticationFailed},
		"not yet valid":      {sign(sas.BlobSignatureValues{StartTime: time.Now().Add(time.Hour)}), bloberror.AuthenticationFailed},
		"other IP":           {sign(sas.BlobSignatureValues{IPRange: sas.IPRange{Start: net.ParseIP("10.1.1.1"), End: net.ParseIP("10.1.1.9")}}), bloberror.AuthorizationSourceIPMismatch},
		"https only on http": {sign(sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPS}), bloberror.AuthorizationProtocolMismatch},
		"other blob":         {strings.Replace(good, "/sas/b?", "/sas/other?", 1), bloberror.AuthenticationFailed},
	}
	for name, tc := range cases {
		if _, err := read(tc.url); !bloberror.HasCode(err, tc.code) {
			t.Fatalf("%s: want %s, got %v", name, tc.code, err)
		}
	}
	if _, err := read(sign(sas.BlobSignatureValues{IPRange: sas.IPRange{Start: net.ParseIP("127.0.0.1")}})); err != nil {
		t.Fatalf("SAS for this IP refused: %v", err)
	}

	// stored access policy: the SAS names it, the policy holds perms and expiry
	cc := c.ServiceClient().NewContainerClient("sas")
	_, err = cc.SetAccessPolicy(cx, &container.SetAccessPolicyOptions{ContainerACL: []*container.SignedIdentifier{{
		ID: to.Ptr("readers"), AccessPolicy: &container.AccessPolicy{Permission: to.Ptr("rl"), Expiry: to.Ptr(time.Now().Add(time.Hour).UTC().Truncate(time.Second))}}}})
	must(t, err)
	qp, err := sas.BlobSignatureValues{ContainerName: "sas", Identifier: "readers"}.SignWithSharedKey(cred)
	must(t, err)
	pc, err := container.NewClientWithNoCredential(ts.BlobURL+"/devstoreaccount1/sas?"+qp.Encode(), &container.ClientOptions{ClientOptions: *noRetry})
	must(t, err)
	if _, err := pc.NewListBlobsFlatPager(nil).NextPage(cx); err != nil {
		t.Fatalf("policy SAS list: %v", err)
	}
	_, err = pc.NewBlockBlobClient("w").Upload(cx, body([]byte("x")), nil)
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch)
	// revoking the policy revokes every SAS that names it
	_, err = cc.SetAccessPolicy(cx, &container.SetAccessPolicyOptions{})
	must(t, err)
	_, err = pc.NewListBlobsFlatPager(nil).NextPage(cx)
	wantCode(t, err, bloberror.AuthenticationFailed)

	// account SAS: services, resource types and permissions
	svc := c.ServiceClient()
	u, err := svc.GetSASURL(sas.AccountResourceTypes{Service: true, Container: true, Object: true},
		sas.AccountPermissions{Read: true, List: true, Create: true, Write: true}, time.Now().Add(time.Hour), nil)
	must(t, err)
	ac, err := azblob.NewClientWithNoCredential(u, &azblob.ClientOptions{ClientOptions: *noRetry})
	must(t, err)
	_, err = ac.CreateContainer(cx, "byaccountsas", nil)
	must(t, err)
	_, err = ac.UploadBuffer(cx, "byaccountsas", "x", []byte("y"), nil)
	must(t, err)
	_, err = ac.DeleteBlob(cx, "byaccountsas", "x", nil)
	wantCode(t, err, bloberror.AuthorizationPermissionMismatch)
	if _, err := ac.NewListContainersPager(nil).NextPage(cx); err != nil {
		t.Fatalf("account SAS list containers: %v", err)
	}
	u, err = svc.GetSASURL(sas.AccountResourceTypes{Object: true}, sas.AccountPermissions{Read: true}, time.Now().Add(time.Hour), nil)
	must(t, err)
	objOnly, _ := service.NewClientWithNoCredential(u, &service.ClientOptions{ClientOptions: *noRetry})
	_, err = objOnly.NewListContainersPager(nil).NextPage(cx)
	wantCode(t, err, bloberror.AuthorizationResourceTypeMismatch)
	// an empty signature is no SAS at all: an anonymous read of a private blob
	resp, err := http.Get(blobURL + "?sv=2021-06-08&sr=b&sp=r&se=2099-01-01&sig=")
	must(t, err)
	expectError(t, resp, 404, "ResourceNotFound")
}

// TestPythonAndAzSAS: SAS made by the Python SDK and by az work.
func TestPythonAndAzSAS(t *testing.T) {
	py := debianPython(t)
	ts := startServer(t)
	out := runClient(t, 2*time.Minute, []string{"ATREST_CONN=" + ts.conn, "ATREST_BLOB=" + ts.BlobURL + "/devstoreaccount1"}, py, "testdata/py_sas.py")
	if !strings.Contains(out, "python sas: all checks passed") {
		t.Fatalf("python sas:\n%s", out)
	}
	azPath := azCLI(t)
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + ts.conn, "AZURE_CORE_COLLECT_TELEMETRY=false", "AZURE_CONFIG_DIR=" + t.TempDir()}
	expiry := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04Z")
	token := strings.Trim(strings.TrimSpace(runClient(t, time.Minute, env, azPath, "storage", "container", "generate-sas", "-n", "pysas", "--permissions", "rl", "--expiry", expiry)), `"`)
	sasEnv := []string{"AZURE_CORE_COLLECT_TELEMETRY=false", "AZURE_CONFIG_DIR=" + t.TempDir()}
	list := runClient(t, time.Minute, sasEnv, azPath, "storage", "blob", "list", "-c", "pysas", "--account-name", "devstoreaccount1",
		"--blob-endpoint", ts.BlobURL+"/devstoreaccount1", "--sas-token", token, "--query", "[].name", "-o", "tsv")
	if !strings.Contains(list, "from-account-sas") {
		t.Fatalf("az blob list with --sas-token: %s", list)
	}
}

func blobAccountTypes() sas.AccountResourceTypes {
	return sas.AccountResourceTypes{Service: true, Container: true, Object: true}
}

func blobAccountPerms() sas.AccountPermissions { return sas.AccountPermissions{Read: true, List: true} }
