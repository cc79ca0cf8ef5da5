package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// switchAccount creates an account with the given ARM properties as the
// operator and returns its ARM path and first shared key.
func switchAccount(t testing.TB, ts *testServer, name string, props map[string]any) (path, key string) {
	t.Helper()
	path = "/subscriptions/" + ts.Mgmt().Subscription() + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/" + name
	operatorARM(t, ts, "PUT", path, map[string]any{"location": "local", "properties": props})
	var keys struct{ Keys []struct{ Value string } }
	json.Unmarshal(operatorARM(t, ts, "POST", path+"/listKeys", nil), &keys)
	return path, keys.Keys[0].Value
}

// setSwitches patches an account's properties and returns what ARM reports.
func setSwitches(t testing.TB, ts *testServer, path string, props map[string]any) map[string]any {
	t.Helper()
	var got struct{ Properties map[string]any }
	jsonUnmarshal(t, operatorARM(t, ts, "PATCH", path, map[string]any{"properties": props}), &got)
	return got.Properties
}

// TestSwitchSharedKeyAccess: with allowSharedKeyAccess false, SharedKey and
// account/service SAS are refused on Blob, Queue and Table, while bearer
// tokens keep working on all three.
func TestSwitchSharedKeyAccess(t *testing.T) {
	ts := startServer(t, withHTTPS())
	cx := ctx(t)
	path, key := switchAccount(t, ts, "nokeyacct", nil)
	dc := accountClients(t, ts, "nokeyacct", key)
	_, err := dc.blob.CreateContainer(cx, "cont1", nil)
	must(t, err)
	_, err = dc.blob.UploadBuffer(cx, "cont1", "doc", []byte("shared key era"), nil)
	must(t, err)
	_, err = dc.queue.CreateQueue(cx, "queue1", nil)
	must(t, err)
	_, err = dc.table.CreateTable(cx, "table1", nil)
	must(t, err)
	cred, err := azblob.NewSharedKeyCredential("nokeyacct", key)
	must(t, err)
	hc := kvTransport(t, ts.CAFile)
	base := ts.BlobURL + "/nokeyacct"
	accountSAS, err := sas.AccountSignatureValues{Protocol: sas.ProtocolHTTPS, ExpiryTime: time.Now().Add(time.Hour),
		Permissions: (&sas.AccountPermissions{Read: true, List: true}).String(), ResourceTypes: to.Ptr(blobAccountTypes()).String()}.SignWithSharedKey(cred)
	must(t, err)
	serviceSAS, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPS, ExpiryTime: time.Now().Add(time.Hour),
		ContainerName: "cont1", BlobName: "doc", Permissions: (&sas.BlobPermissions{Read: true}).String()}.SignWithSharedKey(cred)
	must(t, err)
	for _, u := range []string{base + "/cont1/doc?" + accountSAS.Encode(), base + "/cont1/doc?" + serviceSAS.Encode()} {
		resp, err := hc.Get(u)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("SAS before the switch: %d", resp.StatusCode)
		}
	}

	props := setSwitches(t, ts, path, map[string]any{"allowSharedKeyAccess": false})
	if props["allowSharedKeyAccess"] != false {
		t.Fatalf("allowSharedKeyAccess reported as %v", props["allowSharedKeyAccess"])
	}
	const refused = "KeyBasedAuthenticationNotPermitted"
	_, err = dc.blob.DownloadStream(cx, "cont1", "doc", nil)
	expectCode(t, "SharedKey blob read", err, refused)
	_, err = dc.queue.NewQueueClient("queue1").EnqueueMessage(cx, "m", nil)
	expectCode(t, "SharedKey queue write", err, refused)
	_, err = dc.table.NewClient("table1").AddEntity(cx, []byte(`{"PartitionKey":"p","RowKey":"r"}`), nil)
	expectCode(t, "SharedKey table write", err, refused)
	for name, u := range map[string]string{"account SAS": base + "/cont1/doc?" + accountSAS.Encode(), "service SAS": base + "/cont1/doc?" + serviceSAS.Encode()} {
		resp, err := hc.Get(u)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("x-ms-error-code") != refused {
			t.Fatalf("%s with shared key off: %d %s", name, resp.StatusCode, resp.Header.Get("x-ms-error-code"))
		}
	}

	// bearer tokens with the data roles still work on every service
	scope := "/storageaccounts/nokeyacct"
	creds := newPrincipal(t, ts, "nokey-app", "Storage Blob Data Contributor", scope)
	adminDo(t, ts, "role.assign", map[string]any{"principal": "nokey-app", "role": "Storage Queue Data Contributor", "scope": scope}, nil)
	adminDo(t, ts, "role.assign", map[string]any{"principal": "nokey-app", "role": "Storage Table Data Contributor", "scope": scope}, nil)
	tok := goCredential(t, ts, creds, hc)
	opts := azcore.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}
	bc, err := azblob.NewClient(base, tok, &azblob.ClientOptions{ClientOptions: opts})
	must(t, err)
	r, err := bc.DownloadStream(cx, "cont1", "doc", nil)
	must(t, err)
	if got, _ := readAllClose(r.Body); string(got) != "shared key era" {
		t.Fatalf("bearer read: %q", got)
	}
	_, err = bc.UploadBuffer(cx, "cont1", "bearer", []byte("x"), nil)
	must(t, err)
	qc, err := azqueue.NewQueueClient(ts.QueueURL+"/nokeyacct/queue1", tok, &azqueue.ClientOptions{ClientOptions: opts})
	must(t, err)
	_, err = qc.EnqueueMessage(cx, "by bearer", nil)
	must(t, err)
	tc, err := aztables.NewClient(ts.TableURL+"/nokeyacct/table1", tok, &aztables.ClientOptions{ClientOptions: opts})
	must(t, err)
	_, err = tc.AddEntity(cx, []byte(`{"PartitionKey":"p","RowKey":"bearer"}`), nil)
	must(t, err)

	// and the Python SDK sees the same: connection string refused, a
	// ClientSecretCredential and a user delegation SAS accepted
	py := debianPython(t)
	script := `
import sys
from datetime import datetime, timedelta
from azure.identity import ClientSecretCredential
from azure.storage.blob import BlobServiceClient, BlobClient, BlobSasPermissions, generate_blob_sas
from azure.core.exceptions import HttpResponseError
conn, tenant, cid, secret, authority, base = sys.argv[1:7]
try:
    BlobServiceClient.from_connection_string(conn).get_blob_client("cont1", "doc").download_blob().readall()
    print("SHAREDKEY ALLOWED")
except HttpResponseError as e:
    print("SHAREDKEY", e.status_code, e.error_code)
cred = ClientSecretCredential(tenant, cid, secret, authority=authority, instance_discovery=False)
bsc = BlobServiceClient(base, credential=cred)
print("BEARER", bsc.get_blob_client("cont1", "doc").download_blob().readall().decode())
now = datetime.utcnow()
udk = bsc.get_user_delegation_key(now - timedelta(minutes=1), now + timedelta(hours=1))
s = generate_blob_sas("nokeyacct", "cont1", "doc", user_delegation_key=udk, permission=BlobSasPermissions(read=True), expiry=now + timedelta(hours=1))
print("UDSAS", BlobClient.from_blob_url(base + "/cont1/doc", credential=s).download_blob().readall().decode())
`
	out := runClient(t, 2*time.Minute, []string{"REQUESTS_CA_BUNDLE=" + ts.CAFile}, py, "-c", script,
		accountConn(ts, "nokeyacct", key), creds.TenantID, creds.ClientID, creds.Secret, ts.IdentityURL, base)
	for _, want := range []string{"SHAREDKEY 403 " + refused, "BEARER shared key era", "UDSAS shared key era"} {
		if !strings.Contains(out, want) {
			t.Fatalf("python: want %q in\n%s", want, out)
		}
	}

	// switching it back restores the keys
	setSwitches(t, ts, path, map[string]any{"allowSharedKeyAccess": true})
	_, err = dc.blob.DownloadStream(cx, "cont1", "doc", nil)
	must(t, err)
}

// TestSwitchBlobPublicAccess: created accounts disallow public access by
// default; with it disallowed, anonymous reads of a public container and
// setting a public level are refused with 409 PublicAccessNotPermitted.
func TestSwitchBlobPublicAccess(t *testing.T) {
	ts := startServer(t, withHTTPS())
	cx := ctx(t)
	_, key := switchAccount(t, ts, "privacct", nil)
	dc := accountClients(t, ts, "privacct", key)
	_, err := dc.blob.CreateContainer(cx, "pub", &azblob.CreateContainerOptions{Access: to.Ptr(container.PublicAccessTypeBlob)})
	expectCode(t, "public container on a default account", err, "PublicAccessNotPermitted")

	path, key := switchAccount(t, ts, "pubacct", map[string]any{"allowBlobPublicAccess": true})
	dc = accountClients(t, ts, "pubacct", key)
	_, err = dc.blob.CreateContainer(cx, "pub", &azblob.CreateContainerOptions{Access: to.Ptr(container.PublicAccessTypeBlob)})
	must(t, err)
	_, err = dc.blob.UploadBuffer(cx, "pub", "doc", []byte("public"), nil)
	must(t, err)
	_, err = dc.blob.CreateContainer(cx, "later", nil)
	must(t, err)
	hc := kvTransport(t, ts.CAFile)
	anon := func() (int, string) {
		resp, err := hc.Get(ts.BlobURL + "/pubacct/pub/doc")
		must(t, err)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("x-ms-error-code")
	}
	if st, code := anon(); st != 200 {
		t.Fatalf("anonymous read of a public blob: %d %s", st, code)
	}

	setSwitches(t, ts, path, map[string]any{"allowBlobPublicAccess": false})
	if st, code := anon(); st != 409 || code != "PublicAccessNotPermitted" {
		t.Fatalf("anonymous read with public access off: %d %s", st, code)
	}
	_, err = dc.blob.ServiceClient().NewContainerClient("later").SetAccessPolicy(cx, &container.SetAccessPolicyOptions{Access: to.Ptr(container.PublicAccessTypeContainer)})
	expectCode(t, "set a public ACL", err, "PublicAccessNotPermitted")
	_, err = dc.blob.CreateContainer(cx, "pub2", &azblob.CreateContainerOptions{Access: to.Ptr(container.PublicAccessTypeContainer)})
	expectCode(t, "create a public container", err, "PublicAccessNotPermitted")
	_, err = dc.blob.CreateContainer(cx, "private2", nil)
	must(t, err)
	_, err = dc.blob.DownloadStream(cx, "pub", "doc", nil) // the key still reads it
	must(t, err)

	setSwitches(t, ts, path, map[string]any{"allowBlobPublicAccess": true})
	if st, code := anon(); st != 200 {
		t.Fatalf("anonymous read after re-allowing: %d %s", st, code)
	}
}

// TestSwitchSecureTransfer: an account requiring secure transfer (the
// default for created accounts) refuses plain HTTP on every service with
// 400 AccountRequiresHttps; the development account keeps serving HTTP.
func TestSwitchSecureTransfer(t *testing.T) {
	ts := startServer(t)
	cx := ctx(t)
	path, key := switchAccount(t, ts, "httpsacct", nil)
	conn := accountConn(ts, "httpsacct", key)
	opts := azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}
	bc, err := azblob.NewClientFromConnectionString(conn, &azblob.ClientOptions{ClientOptions: opts})
	must(t, err)
	qc, err := azqueue.NewServiceClientFromConnectionString(conn, &azqueue.ClientOptions{ClientOptions: opts})
	must(t, err)
	tc, err := aztables.NewServiceClientFromConnectionString(conn, &aztables.ClientOptions{ClientOptions: opts})
	must(t, err)
	const refused = "AccountRequiresHttps"
	_, err = bc.CreateContainer(cx, "cont1", nil)
	expectCode(t, "blob over HTTP", err, refused)
	_, err = qc.CreateQueue(cx, "queue1", nil)
	expectCode(t, "queue over HTTP", err, refused)
	_, err = tc.CreateTable(cx, "table1", nil)
	expectCode(t, "table over HTTP", err, refused)
	resp, err := http.Get(ts.BlobURL + "/httpsacct/cont1?restype=container") // refused before any credential is looked at
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != refused {
		t.Fatalf("anonymous HTTP: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}

	if p := setSwitches(t, ts, path, map[string]any{"supportsHttpsTrafficOnly": false}); p["supportsHttpsTrafficOnly"] != false {
		t.Fatalf("supportsHttpsTrafficOnly reported as %v", p["supportsHttpsTrafficOnly"])
	}
	_, err = bc.CreateContainer(cx, "cont1", nil)
	must(t, err)
	_, err = qc.CreateQueue(cx, "queue1", nil)
	must(t, err)
	_, err = tc.CreateTable(cx, "table1", nil)
	must(t, err)
	_, err = ts.clientNoRetry(t).CreateContainer(cx, "devcont", nil)
	must(t, err)
}

// TestSwitchMinimumTLS: a connection older than the account's
// minimumTlsVersion (TLS1_2 by default) gets 400 TlsVersionNotPermitted;
// lowering the minimum lets it in.
func TestSwitchMinimumTLS(t *testing.T) {
	ts := startServer(t, withHTTPS())
	cx := ctx(t)
	path, key := switchAccount(t, ts, "tlsacct", nil)
	pemBytes, err := os.ReadFile(ts.CAFile)
	must(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	clients := func(max uint16) dataClients {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: max}}}
		opts := azcore.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}
		conn := accountConn(ts, "tlsacct", key)
		b, err := azblob.NewClientFromConnectionString(conn, &azblob.ClientOptions{ClientOptions: opts})
		must(t, err)
		q, err := azqueue.NewServiceClientFromConnectionString(conn, &azqueue.ClientOptions{ClientOptions: opts})
		must(t, err)
		tb, err := aztables.NewServiceClientFromConnectionString(conn, &aztables.ClientOptions{ClientOptions: opts})
		must(t, err)
		return dataClients{b, q, tb}
	}
	old, cur := clients(tls.VersionTLS11), clients(0)
	const refused = "TlsVersionNotPermitted"
	_, err = old.blob.CreateContainer(cx, "cont1", nil)
	expectCode(t, "blob over TLS 1.1", err, refused)
	_, err = old.queue.CreateQueue(cx, "queue1", nil)
	expectCode(t, "queue over TLS 1.1", err, refused)
	_, err = old.table.CreateTable(cx, "table1", nil)
	expectCode(t, "table over TLS 1.1", err, refused)
	_, err = cur.blob.CreateContainer(cx, "cont1", nil)
	must(t, err)

	if p := setSwitches(t, ts, path, map[string]any{"minimumTlsVersion": "TLS1_1"}); p["minimumTlsVersion"] != "TLS1_1" {
		t.Fatalf("minimumTlsVersion reported as %v", p["minimumTlsVersion"])
	}
	_, err = old.blob.CreateContainer(cx, "cont2", nil)
	must(t, err)
	_, err = old.queue.CreateQueue(cx, "queue1", nil)
	must(t, err)
	_, err = clients(tls.VersionTLS10).table.CreateTable(cx, "table1", nil)
	expectCode(t, "table over TLS 1.0 with TLS1_1 required", err, refused)

	// an unknown version is refused by the management API
	req := map[string]any{"properties": map[string]any{"minimumTlsVersion": "TLS1_9"}}
	if st := operatorStatus(t, ts, "PATCH", path, req); st != 400 {
		t.Fatalf("minimumTlsVersion TLS1_9: %d", st)
	}
}

// expectCode fails unless err carries the service error code want.
func expectCode(t testing.TB, what string, err error, want string) {
	t.Helper()
	if got := errorCode(err); got != want {
		t.Fatalf("%s: got %q, want %s", what, got, want)
	}
}

// operatorStatus runs a management call as the operator and returns
// its status, whatever it is.
func operatorStatus(t testing.TB, ts *testServer, method, path string, body any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	rec := httptest.NewRecorder()
	ts.Mgmt().Handler(true).ServeHTTP(rec, httptest.NewRequest(method, path+"?api-version=2023-05-01", bytes.NewReader(b)))
	return rec.Code
}
