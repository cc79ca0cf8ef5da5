package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/atrest/atrest/internal/edge"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// atrestBinary builds cmd/atrest once per test run.
func atrestBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "atrest-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "atrest")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/atrest").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// child is `atrest serve` running as a separate process.
type child struct {
	cmd     *exec.Cmd
	blobURL string
	conn    string
	out     *bytes.Buffer
	done    chan error
}

var portFlag = regexp.MustCompile(`-(\w+-port)\b`)

// startChild runs `atrest serve` on ephemeral ports (every --*-port flag the
// binary knows is set to 0) and waits until it prints its endpoints.
func startChild(t testing.TB, dir string, extra ...string) *child {
	t.Helper()
	bin := atrestBinary(t)
	help, _ := exec.Command(bin, "serve", "-h").CombinedOutput()
	args := []string{"serve", "--data", dir}
	seen := map[string]bool{}
	for _, m := range portFlag.FindAllStringSubmatch(string(help), -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			args = append(args, "--"+m[1], "0")
		}
	}
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	stdout, _ := cmd.StdoutPipe()
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, out: &errBuf, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			if f := strings.Fields(line); len(f) == 2 && f[0] == "blob:" {
				c.blobURL = f[1]
			}
			if strings.HasPrefix(strings.TrimSpace(line), "DefaultEndpointsProtocol=") && !signalled {
				c.conn = strings.TrimSpace(line)
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-c.done
		}
	})
	select {
	case <-ready:
	case err := <-c.done:
		t.Fatalf("atrest serve exited early: %v\n%s", err, errBuf.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("atrest serve not ready\n%s", errBuf.String())
	}
	return c
}

func (c *child) client(t testing.TB) *azblob.Client {
	t.Helper()
	cl, err := azblob.NewClientFromConnectionString(c.conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func (c *child) signal(t testing.TB, sig syscall.Signal) error {
	t.Helper()
	c.cmd.Process.Signal(sig)
	select {
	case err := <-c.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("atrest did not exit after signal")
	}
	return nil
}

func runAtrest(t testing.TB, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(atrestBinary(t), args...).CombinedOutput()
	return string(out), err
}

// TestServeRestartAndVerify: the binary prints a working connection string,
// stops cleanly on SIGTERM, keeps everything across a restart, and `atrest
// verify` passes on the directory and then names a tampered blob.
func TestServeRestartAndVerify(t *testing.T) {
	dir := t.TempDir()
	ch := startChild(t, dir)
	if !strings.Contains(ch.conn, "AccountName="+edge.DevAccount) || ch.blobURL == "" {
		t.Fatalf("printed connection string %q, blob %q", ch.conn, ch.blobURL)
	}
	c := ch.client(t)
	cx := ctx(t)
	_, err := c.CreateContainer(cx, "keep", nil)
	must(t, err)
	data := map[string][]byte{"small": pattern(3000, "s"), "large": pattern(3<<20+7, "l")}
	for name, b := range data {
		_, err := c.UploadBuffer(cx, "keep", name, b, nil)
		must(t, err)
	}
	if err := ch.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, ch.out)
	}
	ch = startChild(t, dir)
	c = ch.client(t)
	for name, b := range data {
		got, err := readBlob(c, t, "keep", name)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%s after restart: %v", name, err)
		}
	}
	ch.signal(t, syscall.SIGTERM)

	// the offline rewrap job knows the built-in accounts
	if out, err := runAtrest(t, "rewrap", "--data", dir, "devstoreaccount1"); err != nil || !strings.Contains(out, "rewrap of devstoreaccount1 done") {
		t.Fatalf("offline rewrap of the dev account: %v\n%s", err, out)
	}
	out, err := runAtrest(t, "verify", "--data", dir)
	if err != nil || !strings.Contains(out, "OK:") || !strings.Contains(out, "service-managed account/devstoreaccount1 v1") {
		t.Fatalf("verify on a healthy directory: %v\n%s", err, out)
	}
	files := extentFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("expected one extent file, got %v", files)
	}
	for f := range files {
		b, _ := os.ReadFile(f)
		b[len(b)/2] ^= 0x40
		os.WriteFile(f, b, 0o600)
	}
	out, err = runAtrest(t, "verify", "--data", dir)
	if err == nil || !strings.Contains(out, "FAILED AUTHENTICATION") || !strings.Contains(out, "keep/large") {
		t.Fatalf("verify on a tampered directory: %v\n%s", err, out)
	}
}

// TestKillNineKeepsAcknowledgedWrites kills the server without warning in
// the middle of a stream of writes: every write that was acknowledged must
// read back identical after a restart.
func TestKillNineKeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	ch := startChild(t, dir)
	c := ch.client(t)
	cx := ctx(t)
	_, err := c.CreateContainer(cx, "crash", nil)
	must(t, err)
	var mu sync.Mutex
	acked := map[string][]byte{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", w, i)
				size := 2000 + i*37
				if w == 0 {
					size = 700000 + i // spills to an extent file
				}
				b := pattern(size, name)
				if _, err := c.UploadBuffer(cx, "crash", name, b, nil); err == nil {
					mu.Lock()
					acked[name] = b
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	ch.cmd.Process.Signal(syscall.SIGKILL)
	<-ch.done
	close(stop)
	wg.Wait()
	if len(acked) < 20 {
		t.Fatalf("only %d writes acknowledged before the kill", len(acked))
	}
	ch = startChild(t, dir)
	c = ch.client(t)
	for name, b := range acked {
		got, err := readBlob(c, t, "crash", name)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("acknowledged %s lost after kill -9: %v", name, err)
		}
	}
	ch.signal(t, syscall.SIGTERM)
	out, err := runAtrest(t, "verify", "--data", dir)
	if err != nil {
		t.Fatalf("verify after kill -9: %v\n%s", err, out)
	}
	t.Logf("%d acknowledged writes all intact after kill -9", len(acked))
}
