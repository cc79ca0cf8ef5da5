package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/csetransfer"
)

// TestCSECLIResume runs "atrest cse upload" and "download" as child
// processes, kills each with SIGKILL partway, runs it again, and checks
// that it resumed and that the bytes round-trip.
func TestCSECLIResume(t *testing.T) {
	bin := atrestBinary(t)
	ts := startServer(t)
	if _, err := ts.client(t).CreateContainer(ctx(t), "cli", nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	jwk := filepath.Join(dir, "kek.jwk")
	writeFile(t, jwk, fmt.Appendf(nil, `{"kty":"oct","kid":"local:cli","k":%q}`, base64.RawURLEncoding.EncodeToString(key)))
	src := filepath.Join(dir, "big.bin")
	want := pattern(64<<20, "cli")
	writeFile(t, src, want)
	common := []string{"--connection-string", ts.conn, "--container", "cli", "--name", "big", "--kek-file", jwk, "--no-progress", "--concurrency", "1"}
	up := append([]string{"cse", "upload", "--block-size", "4194304"}, common...) // 16 blocks of one region

	state := src + ".atrest-upload.json"
	killWhen(t, exec.Command(bin, append(up, src)...), func() bool { return stagedBlocks(state) >= 4 })
	out, err := exec.Command(bin, append(up, src)...).CombinedOutput()
	var sent, blocks int
	if _, serr := fmt.Sscanf(string(out[bytes.Index(out, []byte("resumed: ")):]), "resumed: %d of %d", &sent, &blocks); err != nil || serr != nil ||
		blocks != 16 || sent == 0 || sent > 12 {
		t.Fatalf("resumed upload: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))

	dst := filepath.Join(dir, "out.bin")
	down := append([]string{"cse", "download"}, common...)
	killWhen(t, exec.Command(bin, append(down, dst)...), func() bool {
		fi, err := os.Stat(csetransfer.PartPath(dst))
		return err == nil && fi.Size() >= 8<<20
	})
	out, err = exec.Command(bin, append(down, dst)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "resumed after") {
		t.Fatalf("resumed download: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
	got, err := os.ReadFile(dst)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("downloaded file differs (%d bytes, %v)", len(got), err)
	}

	// The stored blob is ciphertext that the Go SDK alone cannot read.
	raw, err := ts.client(t).DownloadStream(ctx(t), "cli", "big", nil)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 1<<20)
	_, _ = raw.Body.Read(head)
	raw.Body.Close()
	if bytes.Contains(head, want[100:164]) {
		t.Fatal("stored blob holds plaintext")
	}
}

// killWhen starts cmd, SIGKILLs it as soon as ready() holds, and fails if
// it finished first.
func killWhen(t *testing.T, cmd *exec.Cmd, ready func() bool) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(time.Minute)
	for {
		select {
		case err := <-done:
			t.Fatalf("%s finished before it could be interrupted (%v)\n%s", cmd.Args[1:3], err, out.String())
		case <-deadline:
			cmd.Process.Kill()
			<-done
			t.Fatalf("%s: not ready within a minute\n%s", cmd.Args[1:3], out.String())
		case <-time.After(time.Millisecond):
		}
		if ready() {
			cmd.Process.Kill()
			<-done
			return
		}
	}
}

// stagedBlocks counts the staged blocks an upload state file records.
func stagedBlocks(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var st struct {
		Blocks []struct{ Staged bool } `json:"blocks"`
	}
	if json.Unmarshal(b, &st) != nil {
		return 0
	}
	n := 0
	for _, b := range st.Blocks {
		if b.Staged {
			n++
		}
	}
	return n
}
