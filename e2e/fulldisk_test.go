package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// TestFullDisk fills a small filesystem: writes that do not fit get a clear
// error, everything acknowledged before stays readable, and once space is
// freed writes succeed again.
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	ts := startServerAt(t, dir)
	c := ts.clientNoRetry(t)
	cx := ctx(t)
	_, err := c.CreateContainer(cx, "full", nil)
	must(t, err)
	stored := map[string][]byte{}
	var lastErr error
	for i := 0; i < 40; i++ {
		name := fmt.Sprint("b", i)
		data := pattern(1<<20+i, name)
		if _, err := c.UploadBuffer(cx, "full", name, data, nil); err != nil {
			lastErr = err
			break
		}
		stored[name] = data
	}
	if lastErr == nil {
		t.Fatal("the filesystem never filled up")
	}
	if !bloberror.HasCode(lastErr, "InsufficientAccountResources") {
		t.Fatalf("full disk answered: %v", lastErr)
	}
	fitted := len(stored)
	for name, data := range stored {
		got, err := readBlob(c, t, "full", name)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s unreadable after the disk filled: %v", name, err)
		}
	}
	// free space and write again
	for name := range stored {
		if _, err := c.DeleteBlob(cx, "full", name, nil); err != nil {
			t.Fatalf("delete on a full disk: %v", err)
		}
		delete(stored, name)
		if len(stored) < 5 {
			break
		}
	}
	if _, err := c.UploadBuffer(cx, "full", "after", pattern(1<<20, "after"), nil); err != nil {
		t.Fatalf("write after freeing space: %v", err)
	}
	rep, err := ts.Stores.DB.Verify()
	if err != nil || !rep.OK() {
		t.Fatalf("verify after a full disk: %+v %v", rep, err)
	}
	t.Logf("%d blobs fitted before the disk filled", fitted)
}
