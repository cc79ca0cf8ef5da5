package e2e

import (
	"strings"
	"testing"
	"time"
)

func TestPythonQueue(t *testing.T) {
	py := debianPython(t)
	ts := startServer(t)
	canary := "PYQCANARY-0b9d4e"
	out := runClient(t, 2*time.Minute, []string{"ATREST_CONN=" + ts.conn, "ATREST_CANARY=" + canary}, py, "testdata/py_queue.py")
	if !strings.Contains(out, "python queue: all checks passed") {
		t.Fatalf("python run incomplete:\n%s", out)
	}
	t.Logf("python: %d checks", strings.Count(out, "ok "))
	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary, "hello <queue>"}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}

func TestPythonTable(t *testing.T) {
	py := debianPython(t)
	ts := startServer(t)
	canary := "PYTCANARY-5e7c12"
	out := runClient(t, 2*time.Minute, []string{"ATREST_CONN=" + ts.conn, "ATREST_CANARY=" + canary}, py, "testdata/py_table.py")
	if !strings.Contains(out, "python table: all checks passed") {
		t.Fatalf("python run incomplete:\n%s", out)
	}
	t.Logf("python: %d checks", strings.Count(out, "ok "))
	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary, "replaced", "merged"}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}
