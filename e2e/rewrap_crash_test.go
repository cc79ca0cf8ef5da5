package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/atrest/atrest/internal/rewrap"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/server"
	"github.com/atrest/atrest/internal/sse"
)

// extentHeaders reads the header of every extent file under dir.
func extentHeaders(t testing.TB, dir string) map[string]*sse.Header {
	t.Helper()
	out := map[string]*sse.Header{}
	filepath.WalkDir(filepath.Join(dir, "objects"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(filepath.Dir(p)) == "tmp" {
			return err
		}
		b, _ := os.ReadFile(p)
		if h, _, err := sse.ParseHeader(b); err == nil {
			out[filepath.Base(p)] = h
		}
		return nil
	})
	return out
}

// savedJob reads an account's rewrap job state from a stopped installation.
func savedJob(t testing.TB, dir, acct string) *rewrap.State {
	t.Helper()
	st, _, closeFn, err := server.OpenInstallation(dir, secret.Key{}, server.KeyConfig{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	must(t, err)
	defer closeFn()
	s, err := rewrap.Load(st.DB, acct)
	must(t, err)
	return s
}

var examinedRE = regexp.MustCompile(`progress: phase \w+, examined (\d+)`)

// TestRewrapJobKilledAndResumed rotates the service-managed KEK of an
// account holding blobs, messages and entities, runs `atrest rewrap` as a
// child process and SIGKILLs it midway. At that moment everything still
// verifies; a second run resumes from the saved position (its first
// progress report counts on from the killed run's), no content
// ciphertext changed, and every extent names the new KEK version. A full
// re-encryption then rewrites every extent body under fresh data keys.
func TestRewrapJobKilledAndResumed(t *testing.T) {
	const acct = "crashacct"
	dir := t.TempDir()
	ts := startServerAt(t, dir)
	cx := ctx(t)
	_, key := switchAccount(t, ts, acct, map[string]any{"supportsHttpsTrafficOnly": false})
	c := accountClients(t, ts, acct, key).blob
	_, err := c.CreateContainer(cx, "crash", nil)
	must(t, err)
	want := map[string][]byte{}
	for i := range 40 {
		size := 2000 + i*100
		if i%2 == 0 {
			size = 300<<10 + i // larger than the inline limit: an extent file
		}
		name := fmt.Sprintf("b%02d", i)
		want[name] = pattern(size, name)
		_, err := c.UploadBuffer(cx, "crash", name, want[name], nil)
		must(t, err)
	}
	oldKEK, err := ts.Stores.Keys.ServiceKEK(sse.ServiceRef(acct))
	must(t, err)
	newKEK, err := ts.Stores.Keys.RotateService(sse.ServiceRef(acct))
	must(t, err)
	if newKEK.Version() == oldKEK.Version() {
		t.Fatal("rotation kept the version")
	}
	ts.stop()
	before := extentBodies(t, dir)

	// run the job slowly, and kill it after a few batches
	cmd := exec.Command(atrestBinary(t), "rewrap", "--data", dir, "--batch", "3", "--pause", "40ms", acct)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	batches := 0
	var printed []string
	for sc.Scan() {
		printed = append(printed, sc.Text())
		if strings.HasPrefix(sc.Text(), "progress:") {
			batches++
		}
		if batches == 6 {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err == nil {
		t.Fatal("the job finished before it was killed")
	}
	killed := savedJob(t, dir, acct)
	if killed == nil || killed.Phase == "done" || killed.Stats.Examined < 18 {
		t.Fatalf("state after the kill: %+v\n%s\n%s", killed, strings.Join(printed, "\n"), stderr.String())
	}
	if out, err := runAtrest(t, "verify", "--data", dir); err != nil {
		t.Fatalf("verify after the kill: %v\n%s", err, out)
	}

	out, err := runAtrest(t, "rewrap", "--data", dir, "--batch", "25", acct)
	if err != nil || !strings.Contains(out, "resuming the job") || !strings.Contains(out, "resumed 1 time(s)") {
		t.Fatalf("resumed run: %v\n%s", err, out)
	}
	m := examinedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no progress in:\n%s", out)
	}
	first, _ := strconv.Atoi(m[1])
	t.Logf("killed in phase %s at %d examined; the resumed run's first batch reached %d", killed.Phase, killed.Stats.Examined, first)
	if first <= killed.Stats.Examined {
		t.Fatalf("resumed run started at %d examined, the killed one had reached %d: restarted from zero", first, killed.Stats.Examined)
	}
	after := extentBodies(t, dir)
	for id, b := range before {
		if !bytes.Equal(after[id], b) {
			t.Fatalf("extent %s: content ciphertext changed by a rewrap", id)
		}
	}
	for id, h := range extentHeaders(t, dir) {
		if h.KeyRef == sse.ServiceRef(acct) && h.KeyVersion != newKEK.Version() {
			t.Fatalf("extent %s still under version %s", id, h.KeyVersion)
		}
	}
	checkBlobs := func(stage string) {
		t.Helper()
		ts := startServerAt(t, dir)
		defer ts.stop()
		c := accountClients(t, ts, acct, key).blob
		for name, b := range want {
			r, err := c.DownloadStream(cx, "crash", name, nil)
			if err != nil {
				t.Fatalf("%s: %s: %v", stage, name, err)
			}
			if got, _ := readAllClose(r.Body); !bytes.Equal(got, b) {
				t.Fatalf("%s: %s differs", stage, name)
			}
		}
	}
	checkBlobs("after the resumed rewrap")

	// full re-encryption: every extent body rewritten, nothing under the
	// old version any more, everything readable
	out, err = runAtrest(t, "rewrap", "--data", dir, "--reencrypt", acct)
	if err != nil || strings.Contains(out, "re-encrypted 0,") {
		t.Fatalf("re-encryption: %v\n%s", err, out)
	}
	reenc := extentBodies(t, dir)
	for id, b := range after {
		if nb, ok := reenc[id]; ok && bytes.Equal(nb, b) {
			t.Fatalf("extent %s: not re-encrypted", id)
		}
	}
	for id, h := range extentHeaders(t, dir) {
		if h.KeyRef == sse.ServiceRef(acct) && h.KeyVersion == oldKEK.Version() {
			t.Fatalf("extent %s still names the retired version", id)
		}
	}
	if out, err := runAtrest(t, "verify", "--data", dir); err != nil {
		t.Fatalf("verify after re-encryption: %v\n%s", err, out)
	}
	checkBlobs("after re-encryption")
}
