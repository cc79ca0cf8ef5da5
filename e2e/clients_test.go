package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireClients makes a missing official client a failure instead of a
// skip; the project's test command sets it after installing them.
func requireClients() bool { return os.Getenv("ATREST_REQUIRE_CLIENTS") == "1" }

// debianPython finds the python3 that can import the Debian azure packages.
func debianPython(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3"} {
		if exec.Command(p, "-c", "import azure.storage.blob").Run() == nil {
			return p
		}
	}
	if requireClients() {
		t.Fatal("python3 with azure-storage-blob (Debian python3-azure) is not installed")
	}
	t.Skip("python3-azure not installed")
	return ""
}

func azCLI(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("az")
	if err != nil {
		if requireClients() {
			t.Fatal("az (Debian azure-cli) is not installed")
		}
		t.Skip("azure-cli not installed")
	}
	return p
}

// runClient runs an official client as a child process and fails the test
// with its output if it fails.
func runClient(t testing.TB, timeout time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %s: timed out\n%s", filepath.Base(name), strings.Join(args, " "), out)
	}
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPythonBlob(t *testing.T) {
	py := debianPython(t)
	ts := startServer(t)
	canary := "PYCANARY-7f3e2d"
	out := runClient(t, 3*time.Minute, []string{"ATREST_CONN=" + ts.conn, "ATREST_CANARY=" + canary}, py, "testdata/py_blob.py")
	if !strings.Contains(out, "python blob: all checks passed") {
		t.Fatalf("python run incomplete:\n%s", out)
	}
	t.Logf("python: %d checks", strings.Count(out, "\nok ")+1)
	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary, "hello from python"}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}
