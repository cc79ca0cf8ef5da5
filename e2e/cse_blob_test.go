package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/atrest/atrest/cse"
	"github.com/atrest/atrest/cse/cseblob"
)

// TestPythonCSEBlob: blobs the Python SDK encrypts (2.0 and 1.0) decrypt
// with cseblob, whole and ranged, and blobs cseblob encrypts decrypt in the
// Python SDK, whole and ranged, through atrest's Blob service.
func TestPythonCSEBlob(t *testing.T) {
	py := debianPython(t)
	ts := startServer(t)
	c := ctx(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kek, err := cse.NewAESKEK("local:e2e-cse", key)
	if err != nil {
		t.Fatal(err)
	}
	az := ts.client(t)
	if _, err := az.CreateContainer(c, "csepy", nil); err != nil {
		t.Fatal(err)
	}
	env := []string{"ATREST_CONN=" + ts.conn, "ATREST_KEK=" + hex.EncodeToString(key), "ATREST_KID=local:e2e-cse", "ATREST_CONTAINER=csepy"}
	out := runClient(t, 2*time.Minute, env, py, "testdata/py_cse.py", "write")
	if !strings.Contains(out, "python cse write: all checks passed") {
		t.Fatalf("python write incomplete:\n%s", out)
	}

	cl, err := cseblob.NewClient(az, cseblob.Options{KEK: kek, RequireEncryption: true})
	if err != nil {
		t.Fatal(err)
	}
	const mib = 1 << 20
	for _, b := range []struct {
		name, protocol string
		size           int64
	}{{"py-v2-big", "2.0", 9*mib + 5}, {"py-v2-small", "2.0", 1000}, {"py-v1", "1.0", 3*mib + 7}} {
		want := pattern(int(b.size), b.name)
		d, err := cl.Download(c, "csepy", b.name, nil)
		if err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		got, err := io.ReadAll(d.Body)
		d.Body.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s whole: %d bytes, %v", b.name, len(got), err)
		}
		if d.EncryptionData.EncryptionAgent.Protocol != b.protocol || *d.Metadata["Writer"] != "python" {
			t.Errorf("%s: protocol %s, metadata %v", b.name, d.EncryptionData.EncryptionAgent.Protocol, d.Metadata)
		}
		for _, r := range []blob.HTTPRange{{Offset: 0, Count: 1}, {Offset: 4*mib - 10, Count: 100}, {Offset: b.size - 7, Count: 0}, {Offset: mib + 3, Count: 5 * mib}} {
			if r.Offset+r.Count > b.size {
				continue
			}
			d, err := cl.Download(c, "csepy", b.name, &cseblob.DownloadOptions{Range: r})
			if err != nil {
				t.Fatalf("%s %+v: %v", b.name, r, err)
			}
			got, err := io.ReadAll(d.Body)
			d.Body.Close()
			end := b.size
			if r.Count > 0 {
				end = r.Offset + r.Count
			}
			if err != nil || !bytes.Equal(got, want[r.Offset:end]) {
				t.Fatalf("%s %+v: %d bytes, %v", b.name, r, len(got), err)
			}
		}
	}
	t.Log("go decrypted the python blobs, whole and ranged")

	md := map[string]*string{"writer": to.Ptr("go")}
	for _, b := range []struct {
		name   string
		size   int
		legacy bool
	}{{"go-v2-big", 9*mib + 5, false}, {"go-v2-small", 1000, false}, {"go-v1", 2*mib + 3, true}} {
		w, _ := cseblob.NewClient(az, cseblob.Options{KEK: kek, LegacyProtocol1: b.legacy})
		if _, err := w.Upload(c, "csepy", b.name, bytes.NewReader(pattern(b.size, b.name)), &cseblob.UploadOptions{Metadata: md, BlockSize: 3 * mib}); err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
	}
	out = runClient(t, 2*time.Minute, env, py, "testdata/py_cse.py", "read")
	if !strings.Contains(out, "python cse read: all checks passed") {
		t.Fatalf("python read incomplete:\n%s", out)
	}
	t.Logf("python decrypted the go blobs: %d checks", strings.Count(out, "ok "))
}
