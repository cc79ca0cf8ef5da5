package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAzStorageBlob drives the Blob service with az storage container|blob.
func TestAzStorageBlob(t *testing.T) {
	azPath := azCLI(t)
	ts := startServer(t)
	work := t.TempDir()
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + ts.conn, "AZURE_CORE_COLLECT_TELEMETRY=false",
		"AZURE_CONFIG_DIR=" + filepath.Join(work, "azcfg"), "AZURE_CORE_NO_COLOR=true", "AZURE_CORE_ONLY_SHOW_ERRORS=true"}
	az := func(args ...string) string {
		t.Helper()
		return runClient(t, 2*time.Minute, env, azPath, append([]string{"storage"}, args...)...)
	}
	azJSON := func(v any, args ...string) {
		t.Helper()
		out := az(args...)
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("az %v: not JSON: %v\n%s", args, err, out)
		}
	}
	canary := "AZCANARY-91c4b0"
	content := []byte("az uploaded this " + canary + "\n")
	src := filepath.Join(work, "in.txt")
	os.WriteFile(src, content, 0o600)

	az("container", "create", "-n", "azc", "--metadata", "team=blue")
	var exists struct{ Exists bool }
	azJSON(&exists, "container", "exists", "-n", "azc")
	if !exists.Exists {
		t.Fatal("container does not exist after create")
	}
	var containers []struct{ Name string }
	azJSON(&containers, "container", "list", "--prefix", "az")
	if len(containers) != 1 || containers[0].Name != "azc" {
		t.Fatalf("container list: %+v", containers)
	}
	az("container", "metadata", "update", "-n", "azc", "--metadata", "team=red")
	var cmeta map[string]string
	azJSON(&cmeta, "container", "metadata", "show", "-n", "azc")
	if cmeta["team"] != "red" {
		t.Fatalf("container metadata: %v", cmeta)
	}

	az("blob", "upload", "-c", "azc", "-n", "docs/in.txt", "-f", src, "--content-type", "text/plain", "--metadata", "secret="+canary)
	var show struct {
		Name       string
		Metadata   map[string]string
		Properties struct {
			ContentLength   int64
			ContentSettings struct{ ContentType string }
			ServerEncrypted bool
		}
	}
	azJSON(&show, "blob", "show", "-c", "azc", "-n", "docs/in.txt")
	if show.Properties.ContentLength != int64(len(content)) || show.Properties.ContentSettings.ContentType != "text/plain" ||
		show.Metadata["secret"] != canary || !show.Properties.ServerEncrypted {
		t.Fatalf("blob show: %+v", show)
	}
	dst := filepath.Join(work, "out.txt")
	az("blob", "download", "-c", "azc", "-n", "docs/in.txt", "-f", dst)
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, content) {
		t.Fatalf("downloaded %q", got)
	}
	// batch upload and download of a directory tree
	tree := filepath.Join(work, "tree")
	os.MkdirAll(filepath.Join(tree, "sub"), 0o700)
	for _, f := range []string{"a.txt", "b.txt", "sub/c.txt"} {
		os.WriteFile(filepath.Join(tree, f), []byte("file "+f), 0o600)
	}
	az("blob", "upload-batch", "-d", "azc", "-s", tree, "--destination-path", "batch")
	var blobs []struct{ Name string }
	azJSON(&blobs, "blob", "list", "-c", "azc", "--prefix", "batch/")
	if len(blobs) != 3 {
		t.Fatalf("blob list after upload-batch: %+v", blobs)
	}
	back := filepath.Join(work, "back")
	os.MkdirAll(back, 0o700)
	az("blob", "download-batch", "-s", "azc", "-d", back, "--pattern", "batch/*")
	if got, _ := os.ReadFile(filepath.Join(back, "batch", "sub", "c.txt")); string(got) != "file sub/c.txt" {
		t.Fatalf("download-batch: %q", got)
	}
	// snapshot, copy, tier, lease
	var snap struct{ Snapshot string }
	azJSON(&snap, "blob", "snapshot", "-c", "azc", "-n", "docs/in.txt")
	if snap.Snapshot == "" {
		t.Fatal("no snapshot time")
	}
	az("blob", "copy", "start", "--destination-container", "azc", "--destination-blob", "copy.txt",
		"--source-uri", ts.BlobURL+"/devstoreaccount1/azc/docs/in.txt")
	az("blob", "download", "-c", "azc", "-n", "copy.txt", "-f", dst)
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, content) {
		t.Fatalf("copy content %q", got)
	}
	az("blob", "set-tier", "-c", "azc", "-n", "copy.txt", "--tier", "Cool")
	leaseID := strings.Trim(strings.TrimSpace(az("blob", "lease", "acquire", "-c", "azc", "-b", "copy.txt", "--lease-duration", "15")), `"`)
	if len(leaseID) != 36 {
		t.Fatalf("lease id %q", leaseID)
	}
	az("blob", "lease", "break", "-c", "azc", "-b", "copy.txt", "--lease-break-period", "0")
	var props struct {
		Properties struct {
			Lease    struct{ State string }
			BlobTier string
		}
	}
	azJSON(&props, "blob", "show", "-c", "azc", "-n", "copy.txt")
	if props.Properties.Lease.State != "broken" || props.Properties.BlobTier != "Cool" {
		t.Fatalf("after lease break and set-tier: %+v", props)
	}
	var svc map[string]any
	azJSON(&svc, "blob", "service-properties", "show")
	if _, ok := svc["deleteRetentionPolicy"]; !ok {
		t.Fatalf("service properties: %v", svc)
	}
	az("blob", "delete", "-c", "azc", "-n", "docs/in.txt", "--delete-snapshots", "include")
	az("blob", "delete-batch", "-s", "azc", "--pattern", "batch/*")
	azJSON(&blobs, "blob", "list", "-c", "azc")
	if len(blobs) != 1 || blobs[0].Name != "copy.txt" {
		t.Fatalf("after deletes: %+v", blobs)
	}
	az("container", "delete", "-n", "azc")
	azJSON(&exists, "container", "exists", "-n", "azc")
	if exists.Exists {
		t.Fatal("container exists after delete")
	}
	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary, "az uploaded this"}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}
