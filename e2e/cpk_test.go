package e2e

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

func cpkInfo(key []byte) *blob.CPKInfo {
	sum := sha256.Sum256(key)
	return &blob.CPKInfo{EncryptionKey: to.Ptr(base64.StdEncoding.EncodeToString(key)),
		EncryptionKeySHA256: to.Ptr(base64.StdEncoding.EncodeToString(sum[:])),
		EncryptionAlgorithm: to.Ptr(blob.EncryptionAlgorithmTypeAES256)}
}

// tlsClient trusts the server's local CA only.
func (ts *testServer) tlsClient(t testing.TB) *azblob.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(ts.CAFile)
	must(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	tr := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c, err := azblob.NewClientFromConnectionString(ts.conn, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: tr, Retry: policy.RetryOptions{MaxRetries: -1}}})
	must(t, err)
	return c
}

// TestCustomerProvidedKeys drives CPK with the Go SDK over HTTPS: content and
// metadata sealed under the client's key, the key itself never kept.
func TestCustomerProvidedKeys(t *testing.T) {
	ts := startServer(t, withHTTPS())
	c := ts.tlsClient(t)
	cx := ctx(t)
	keyA := bytes.Repeat([]byte{0xA1}, 32)
	keyB := bytes.Repeat([]byte{0xB2}, 32)
	a, b := cpkInfo(keyA), cpkInfo(keyB)
	canary := "CPKCANARY-0d9f11"
	_, err := c.CreateContainer(cx, "cpk", nil)
	must(t, err)
	cc := c.ServiceClient().NewContainerClient("cpk")
	bb := cc.NewBlockBlobClient("secret")
	content := []byte(strings.Repeat(canary+" ", 50000))
	up, err := bb.UploadBuffer(cx, content, &blockblob.UploadBufferOptions{CPKInfo: a, Metadata: map[string]*string{"m": to.Ptr(canary + "-meta")}})
	must(t, err)
	if up.EncryptionKeySHA256 == nil || *up.EncryptionKeySHA256 != *a.EncryptionKeySHA256 {
		t.Fatalf("upload did not echo the key hash: %v", up.EncryptionKeySHA256)
	}
	resp, err := bb.DownloadStream(cx, &blob.DownloadStreamOptions{CPKInfo: a})
	must(t, err)
	got, _ := readAllClose(resp.Body)
	if !bytes.Equal(got, content) || *resp.EncryptionKeySHA256 != *a.EncryptionKeySHA256 || !*resp.IsServerEncrypted {
		t.Fatal("CPK download differs")
	}
	part, err := bb.DownloadStream(cx, &blob.DownloadStreamOptions{CPKInfo: a, Range: blob.HTTPRange{Offset: 70000, Count: 100}})
	must(t, err)
	if got, _ := readAllClose(part.Body); !bytes.Equal(got, content[70000:70100]) {
		t.Fatal("CPK ranged download differs")
	}
	p, err := bb.GetProperties(cx, &blob.GetPropertiesOptions{CPKInfo: a})
	must(t, err)
	if meta(p.Metadata, "m") != canary+"-meta" || *p.EncryptionKeySHA256 != *a.EncryptionKeySHA256 {
		t.Fatalf("CPK properties: %v", p.Metadata)
	}
	// no key, wrong key, key on a blob without one
	_, err = bb.DownloadStream(cx, nil)
	wantCode(t, err, bloberror.BlobUsesCustomerSpecifiedEncryption)
	_, err = bb.GetProperties(cx, nil)
	if err == nil {
		t.Fatal("properties of a CPK blob read without the key")
	}
	_, err = bb.DownloadStream(cx, &blob.DownloadStreamOptions{CPKInfo: b})
	wantCode(t, err, bloberror.Code("BlobCustomerSpecifiedEncryptionMismatch"))
	_, err = c.UploadBuffer(cx, "cpk", "plain", []byte("plain"), nil)
	must(t, err)
	_, err = cc.NewBlobClient("plain").DownloadStream(cx, &blob.DownloadStreamOptions{CPKInfo: a})
	wantCode(t, err, bloberror.Code("BlobDoesNotUseCustomerSpecifiedEncryption"))
	_, err = bb.SetMetadata(cx, map[string]*string{"m": to.Ptr("x")}, nil)
	wantCode(t, err, bloberror.BlobUsesCustomerSpecifiedEncryption)
	_, err = bb.SetMetadata(cx, map[string]*string{"m": to.Ptr(canary + "-meta2")}, &blob.SetMetadataOptions{CPKInfo: a})
	must(t, err)

	// listing shows the key hash, never the sealed metadata
	pg, err := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Metadata: true}}).NextPage(cx)
	must(t, err)
	for _, it := range pg.Segment.BlobItems {
		if *it.Name == "secret" && (it.Properties.CustomerProvidedKeySHA256 == nil || *it.Properties.CustomerProvidedKeySHA256 != *a.EncryptionKeySHA256 || len(it.Metadata) != 0) {
			t.Fatalf("listing of a CPK blob: %+v %v", it.Properties, it.Metadata)
		}
	}

	// staged blocks share the key they were staged with
	sb := cc.NewBlockBlobClient("staged")
	_, err = sb.StageBlock(cx, b64("b0"), body([]byte("keyed")), &blockblob.StageBlockOptions{CPKInfo: a})
	must(t, err)
	_, err = sb.StageBlock(cx, b64("b1"), body([]byte("other")), &blockblob.StageBlockOptions{CPKInfo: b})
	wantCode(t, err, bloberror.Code("BlobCustomerSpecifiedEncryptionMismatch"))
	_, err = sb.CommitBlockList(cx, []string{b64("b0")}, nil)
	wantCode(t, err, bloberror.BlobUsesCustomerSpecifiedEncryption)
	_, err = sb.CommitBlockList(cx, []string{b64("b0")}, &blockblob.CommitBlockListOptions{CPKInfo: a})
	must(t, err)

	// each snapshot keeps its own key
	snap, err := bb.CreateSnapshot(cx, &blob.CreateSnapshotOptions{CPKInfo: a})
	must(t, err)
	_, err = bb.UploadBuffer(cx, []byte("now under B"), &blockblob.UploadBufferOptions{CPKInfo: b})
	must(t, err)
	sc, _ := bb.WithSnapshot(*snap.Snapshot)
	r2, err := sc.DownloadStream(cx, &blob.DownloadStreamOptions{CPKInfo: a})
	must(t, err)
	if got, _ := readAllClose(r2.Body); !bytes.Equal(got, content) {
		t.Fatal("snapshot under key A changed")
	}
	_, err = sc.DownloadStream(cx, &blob.DownloadStreamOptions{CPKInfo: b})
	wantCode(t, err, bloberror.Code("BlobCustomerSpecifiedEncryptionMismatch"))

	// append blobs too
	ab := cc.NewAppendBlobClient("log")
	_, err = ab.Create(cx, &appendblob.CreateOptions{CPKInfo: a})
	must(t, err)
	_, err = ab.AppendBlock(cx, body([]byte(canary+" appended")), &appendblob.AppendBlockOptions{CPKInfo: a})
	must(t, err)
	_, err = ab.AppendBlock(cx, body([]byte("x")), nil)
	wantCode(t, err, bloberror.BlobUsesCustomerSpecifiedEncryption)

	// CPK over plain HTTP is refused
	plain := startServer(t)
	pc := plain.client(t)
	_, err = pc.CreateContainer(cx, "cpk", nil)
	must(t, err)
	_, err = pc.UploadBuffer(cx, "cpk", "x", []byte("x"), &azblob.UploadBufferOptions{CPKInfo: a})
	wantCode(t, err, bloberror.InvalidHeaderValue)

	ts.stop()
	needles := []string{canary, base64.StdEncoding.EncodeToString(keyA), string(keyA), string(keyB)}
	if hits := scanForPlaintext(t, ts.dir, needles); len(hits) > 0 {
		t.Fatalf("CPK data or key bytes on disk: %v", hits)
	}
	if strings.Contains(ts.logText(), base64.StdEncoding.EncodeToString(keyA)) {
		t.Fatal("a customer key reached the log")
	}
	out, err := runAtrest(t, "verify", "--data", ts.dir)
	if err != nil || !strings.Contains(out, "customer-provided (not checkable without the key)") {
		t.Fatalf("verify with CPK blobs: %v\n%s", err, out)
	}
}

// TestPythonCPK is the Python SDK's cpk= path, which requires HTTPS.
func TestPythonCPK(t *testing.T) {
	py := debianPython(t)
	ts := startServer(t, withHTTPS())
	out := runClient(t, 2*time.Minute, []string{"ATREST_CONN=" + ts.conn, "REQUESTS_CA_BUNDLE=" + ts.CAFile}, py, "testdata/py_cpk.py")
	if !strings.Contains(out, "python cpk: all checks passed") {
		t.Fatalf("python cpk:\n%s", out)
	}
}

func readAllClose(r interface {
	Read([]byte) (int, error)
	Close() error
}) ([]byte, error) {
	defer r.Close()
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}
