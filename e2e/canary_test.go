package e2e

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// TestCanaryScan writes distinctive strings as content (inline, spilled to
// files, in blocks, uncommitted, appended, paged), as metadata values and as
// content headers, then reads every file under the data directory.
func TestCanaryScan(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t)
	cx := ctx(t)
	canaries := []string{}
	mk := func(kind string) string {
		s := fmt.Sprintf("CANARY-%s-5b1e9a", kind)
		canaries = append(canaries, s)
		return s
	}
	rep := func(s string, n int) []byte { return bytes.Repeat([]byte(s+" "), n/(len(s)+1)+1)[:n] }

	_, err := c.CreateContainer(cx, "canary", &azblob.CreateContainerOptions{Metadata: map[string]*string{"k": to.Ptr(mk("containermeta"))}})
	must(t, err)
	cc := c.ServiceClient().NewContainerClient("canary")
	_, err = c.UploadBuffer(cx, "canary", "small", rep(mk("inline"), 3000), &azblob.UploadBufferOptions{
		Metadata:    map[string]*string{"note": to.Ptr(mk("blobmeta"))},
		HTTPHeaders: &blob.HTTPHeaders{BlobContentDisposition: to.Ptr(mk("disposition")), BlobContentType: to.Ptr(mk("contenttype"))},
	})
	must(t, err)
	_, err = c.UploadBuffer(cx, "canary", "large", rep(mk("extent"), 3<<20), nil)
	must(t, err)
	_, err = c.UploadStream(cx, "canary", "blocks", bytes.NewReader(rep(mk("blocks"), 5<<20)), &azblob.UploadStreamOptions{BlockSize: 1 << 20})
	must(t, err)
	_, err = cc.NewBlockBlobClient("pending").StageBlock(cx, b64("b1"), body(rep(mk("uncommitted"), 100000)), nil)
	must(t, err)
	ab := cc.NewAppendBlobClient("append")
	_, err = ab.Create(cx, nil)
	must(t, err)
	_, err = ab.AppendBlock(cx, body(rep(mk("append"), 700)), nil)
	must(t, err)
	pb := cc.NewPageBlobClient("pages")
	_, err = pb.Create(cx, 4096, nil)
	must(t, err)
	_, err = pb.UploadPages(cx, body(rep(mk("page"), 1024)), blob.HTTPRange{Offset: 512, Count: 1024}, nil)
	must(t, err)
	snapped := cc.NewBlockBlobClient("snapped")
	_, err = snapped.Upload(cx, body(rep(mk("snapshot"), 5000)), &blockblob.UploadOptions{})
	must(t, err)
	_, err = snapped.CreateSnapshot(cx, &blob.CreateSnapshotOptions{Metadata: map[string]*string{"s": to.Ptr(mk("snapmeta"))}})
	must(t, err)
	_, err = cc.NewBlobClient("copied").StartCopyFromURL(cx, snapped.URL(), nil)
	must(t, err)

	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, canaries); len(hits) > 0 {
		t.Fatalf("plaintext found on disk:\n%v", hits)
	}
	// the scan itself must be able to fail: the same strings are found in a
	// plaintext file dropped into the directory
	if hits := scanForPlaintext(t, "testdata", []string{"PYCANARY"}); len(hits) != 0 {
		t.Fatalf("testdata unexpectedly holds a canary: %v", hits)
	}
	control := t.TempDir()
	writeFile(t, control+"/plain", rep(canaries[0], 100))
	if hits := scanForPlaintext(t, control, canaries); len(hits) == 0 {
		t.Fatal("scan cannot find a planted canary")
	}
}
