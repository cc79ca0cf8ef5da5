package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/server"
)

// TestHTTPSWithLocalCA serves the Blob service over TLS with a certificate
// from the CA generated into the data directory, and drives it with the Go
// and Python SDKs trusting only that CA.
func TestHTTPSWithLocalCA(t *testing.T) {
	ts := startServer(t, withHTTPS())
	if !strings.HasPrefix(ts.BlobURL, "https://") || ts.CAFile == "" {
		t.Fatalf("not HTTPS: %s", ts.BlobURL)
	}
	pemBytes, err := os.ReadFile(ts.CAFile)
	must(t, err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("CA file holds no certificate")
	}
	tr := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c, err := azblob.NewClientFromConnectionString(ts.conn, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: tr}})
	must(t, err)
	cx := ctx(t)
	_, err = c.CreateContainer(cx, "tls", nil)
	must(t, err)
	_, err = c.UploadBuffer(cx, "tls", "x", []byte("over tls"), nil)
	must(t, err)
	got, err := readBlob(c, t, "tls", "x")
	if err != nil || string(got) != "over tls" {
		t.Fatalf("read over TLS: %v %q", err, got)
	}
	// without trusting the CA the handshake fails
	plain, _ := azblob.NewClientFromConnectionString(ts.conn, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}, Transport: &http.Client{Timeout: 5 * time.Second}}})
	if _, err := plain.CreateContainer(cx, "tls2", nil); err == nil {
		t.Fatal("untrusted certificate accepted")
	}
	// the CA survives a restart: same certificate file, same key
	ts.stop()
	ts2 := startServerAt(t, ts.dir, withHTTPS())
	again, _ := os.ReadFile(ts2.CAFile)
	if !bytes.Equal(again, pemBytes) {
		t.Fatal("CA changed across a restart")
	}
	if hits := scanForPlaintext(t, ts.dir, []string{"PRIVATE KEY"}); len(hits) > 0 {
		t.Fatalf("a private key is stored in the clear: %v", hits)
	}

	py := debianPython(t)
	out := runClient(t, 2*time.Minute, []string{"ATREST_CONN=" + ts2.conn, "REQUESTS_CA_BUNDLE=" + ts2.CAFile}, py, "-c", `
import os
from azure.storage.blob import BlobServiceClient
bsc = BlobServiceClient.from_connection_string(os.environ["ATREST_CONN"])
print(bsc.get_blob_client("tls", "x").download_blob().readall().decode())
`)
	if strings.TrimSpace(out) != "over tls" {
		t.Fatalf("python over TLS: %q", out)
	}
}

// TestMoreAccounts adds an account in Azurite's AZURITE_ACCOUNTS format;
// each account sees only its own containers and its own key.
func TestMoreAccounts(t *testing.T) {
	key2 := edge.B64(bytes.Repeat([]byte{7}, 64))
	accts, err := edge.ParseAccounts("second:" + key2)
	must(t, err)
	ts := startServer(t, func(c *server.Config) { c.Accounts = accts })
	c1 := ts.client(t)
	c2, err := azblob.NewClientFromConnectionString(ts.ConnectionString("second", key2), nil)
	must(t, err)
	cx := ctx(t)
	_, err = c2.CreateContainer(cx, "mine", nil)
	must(t, err)
	_, err = c2.UploadBuffer(cx, "mine", "b", []byte("second account"), nil)
	must(t, err)
	if _, err := readBlob(c1, t, "mine", "b"); err == nil {
		t.Fatal("dev account reads the second account's blob")
	}
	got, err := readBlob(c2, t, "mine", "b")
	if err != nil || string(got) != "second account" {
		t.Fatalf("second account: %v", err)
	}
	wrong, _ := azblob.NewClientFromConnectionString(ts.ConnectionString("second", edge.DevKey), nil)
	if _, err := wrong.CreateContainer(cx, "nope", nil); err == nil {
		t.Fatal("second account accepted the dev key")
	}
	if _, err := edge.ParseAccounts("x:notbase64!"); err == nil {
		t.Fatal("bad AZURITE_ACCOUNTS accepted")
	}
	ts.stop()
	rep, err := func() (string, error) {
		out, err := runAtrest(t, "verify", "--data", ts.dir)
		return out, err
	}()
	if err != nil || !strings.Contains(rep, "account/second v1") {
		t.Fatalf("verify should count the second account's key:\n%s", rep)
	}
}
