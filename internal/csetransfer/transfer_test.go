package csetransfer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/atrest/atrest/cse"
	"github.com/atrest/atrest/cse/cseblob"
	"github.com/atrest/atrest/internal/atresttest"
)

const region = 64 << 10

func setup(t *testing.T) (*cseblob.Client, *azblob.Client, context.Context) {
	t.Helper()
	ctx := atresttest.Context(t)
	az, err := azblob.NewClientFromConnectionString(atresttest.ConnectionString(atresttest.Start(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := az.CreateContainer(ctx, "files", nil); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kek, _ := cse.NewAESKEK("local:transfer-test", key)
	c, err := cseblob.NewClient(az, cseblob.Options{KEK: kek, RegionSize: region, RequireEncryption: true})
	if err != nil {
		t.Fatal(err)
	}
	return c, az, ctx
}

func sourceFile(t *testing.T, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	p := filepath.Join(t.TempDir(), "src.bin")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// interruptedUpload starts an upload and cancels it once `after` bytes are
// staged, leaving its state file behind.
func interruptedUpload(t *testing.T, c *cseblob.Client, src, state string, after int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Upload(ctx, c, "files", "big", src, UploadOptions{StatePath: state, BlockSize: 4 * region, Concurrency: 2,
		Progress: func(done, _ int64) {
			if done >= after {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted upload: %v", err)
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatal("no state after the interruption")
	}
}

func downloadBytes(t *testing.T, c *cseblob.Client, ctx context.Context) []byte {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "out.bin")
	if _, err := Download(ctx, c, "files", "big", dst, DownloadOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUploadResumes interrupts an upload, checks that the state holds the
// wrapped key and no more, then resumes it and compares the blob.
func TestUploadResumes(t *testing.T) {
	c, az, ctx := setup(t)
	src, want := sourceFile(t, 3<<20+5) // 13 blocks of 256 KiB
	state := filepath.Join(t.TempDir(), "up.json")
	interruptedUpload(t, c, src, state, 4*4*region)

	var raw map[string]any
	b, _ := os.ReadFile(state)
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 9 {
		t.Fatalf("state has members %v", raw)
	}
	ed, err := cse.ParseEncryptionData([]byte(raw["encryption_data"].(string)))
	if err != nil || len(ed.WrappedContentKey.EncryptedKey) != 48 {
		t.Fatalf("state encryption data: %v", err)
	}

	res, err := Upload(ctx, c, "files", "big", src, UploadOptions{StatePath: state, BlockSize: 4 * region, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Blocks != 13 || res.Staged >= 13 || res.Staged == 0 {
		t.Fatalf("resume: %+v", res)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("state left after the upload")
	}
	if got := downloadBytes(t, c, ctx); !bytes.Equal(got, want) {
		t.Fatal("resumed upload differs")
	}
	props, err := az.ServiceClient().NewContainerClient("files").NewBlobClient("big").GetProperties(ctx, nil)
	if err != nil || *props.Metadata["Encryptiondata"] != raw["encryption_data"] {
		t.Fatalf("committed metadata differs from the state's: %v", err)
	}
}

// TestUploadRefusesChangedBlock marks a staged block as in flight, changes
// its plaintext without changing size or time, and expects a refusal
// rather than encrypting new plaintext under a used nonce.
func TestUploadRefusesChangedBlock(t *testing.T) {
	c, _, ctx := setup(t)
	src, data := sourceFile(t, 3<<20+5)
	state := filepath.Join(t.TempDir(), "up.json")
	interruptedUpload(t, c, src, state, 4*4*region)
	var st uploadState
	if _, err := loadJSON(state, &st); err != nil {
		t.Fatal(err)
	}
	i := -1
	for j, b := range st.Blocks {
		if b.Staged {
			i = j
			break
		}
	}
	if i < 0 {
		t.Fatal("no staged block")
	}
	st.Blocks[i].Staged = false
	if err := saveJSON(state, &st); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(src)
	data[int64(i)*st.BlockSize] ^= 1
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(src, time.Time{}, fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if _, err := Upload(ctx, c, "files", "big", src, UploadOptions{StatePath: state}); !errors.Is(err, ErrSourceChanged) {
		t.Fatalf("changed block: %v", err)
	}

	// A visibly changed file (new time) starts over under a new key.
	if err := os.Chtimes(src, time.Time{}, fi.ModTime().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	res, err := Upload(ctx, c, "files", "big", src, UploadOptions{StatePath: state, BlockSize: 4 * region})
	if err != nil || res.Resumed || res.Staged != 13 {
		t.Fatalf("changed file: %+v, %v", res, err)
	}
	if got := downloadBytes(t, c, ctx); !bytes.Equal(got, data) {
		t.Fatal("restarted upload differs")
	}
}

// TestDownloadResumes interrupts a download, resumes it, and checks that
// a blob replaced in between restarts from zero.
func TestDownloadResumes(t *testing.T) {
	c, _, ctx := setup(t)
	src, want := sourceFile(t, 2<<20+77)
	if _, err := Upload(ctx, c, "files", "big", src, UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "out.bin")
	cut, cancel := context.WithCancel(ctx)
	_, err := Download(cut, c, "files", "big", dst, DownloadOptions{Progress: func(done, total int64) {
		if total != int64(len(want)) {
			t.Errorf("total %d", total)
		}
		if done >= 1<<20 {
			cancel()
		}
	}})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted download: %v", err)
	}
	fi, err := os.Stat(PartPath(dst))
	if err != nil || fi.Size() < 1<<20 {
		t.Fatalf("partial file: %v", err)
	}
	res, err := Download(ctx, c, "files", "big", dst, DownloadOptions{})
	if err != nil || res.Resumed != fi.Size() || res.Size != int64(len(want)) {
		t.Fatalf("resume: %+v, %v", res, err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, want) {
		t.Fatal("resumed download differs")
	}

	// Partial file from an older version of the blob: start over.
	if err := os.WriteFile(PartPath(dst), want[:1000], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := saveJSON(PartPath(dst)+".json", downloadState{Version: stateVersion, Container: "files", Blob: "big", ETag: `"stale"`}); err != nil {
		t.Fatal(err)
	}
	res, err = Download(ctx, c, "files", "big", dst, DownloadOptions{})
	if err != nil || res.Resumed != 0 {
		t.Fatalf("stale part: %+v, %v", res, err)
	}
}
