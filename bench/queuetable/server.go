package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is atrest or Azurite running as a child process.
type server struct {
	cmd                *exec.Cmd
	dir                string
	tableURL, queueURL string
	done               chan error
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitHTTP polls until something answers HTTP on url.
func waitHTTP(url string, limit time.Duration) error {
	for start := time.Now(); time.Since(start) < limit; time.Sleep(5 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("%s not ready after %s", url, limit)
}

func launch(bin string, args, env []string, dir string, tablePort, queuePort int) (*server, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, dir: dir, done: make(chan error, 1),
		tableURL: fmt.Sprintf("http://127.0.0.1:%d/devstoreaccount1", tablePort),
		queueURL: fmt.Sprintf("http://127.0.0.1:%d/devstoreaccount1", queuePort)}
	go func() { s.done <- cmd.Wait() }()
	for _, u := range []string{s.tableURL, s.queueURL} {
		if err := waitHTTP(u, 60*time.Second); err != nil {
			s.kill()
			return nil, err
		}
	}
	return s, nil
}

var atrestBin string

// startAtrest builds cmd/atrest once and serves a fresh data directory.
func startAtrest(phase string) (*server, error) {
	if atrestBin == "" {
		bin := filepath.Join(os.TempDir(), "atrest-bench-queuetable")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/atrest").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build: %v\n%s", err, out)
		}
		atrestBin = bin
	}
	dir, _ := os.MkdirTemp("", "atrest-bench-"+phase+"-")
	tp, qp := freePort(), freePort()
	args := []string{"serve", "--data", dir, "--table-port", strconv.Itoa(tp), "--queue-port", strconv.Itoa(qp), "--log-level", "warn"}
	help, _ := exec.Command(atrestBin, "serve", "-h").CombinedOutput()
	for _, f := range strings.Fields(string(help)) {
		if strings.HasPrefix(f, "-") && strings.HasSuffix(f, "-port") && f != "-table-port" && f != "-queue-port" {
			args = append(args, f, "0")
		}
	}
	return launch(atrestBin, args, nil, dir, tp, qp)
}

func startAzurite(phase string) (*server, error) {
	bin, err := azuriteBinary()
	if err != nil {
		return nil, err
	}
	dir, _ := os.MkdirTemp("", "azurite-bench-"+phase+"-")
	tp, qp := freePort(), freePort()
	args := []string{"--blobPort", strconv.Itoa(freePort()), "--queuePort", strconv.Itoa(qp), "--tablePort", strconv.Itoa(tp),
		"--location", dir, "--loose", "--skipApiVersionCheck", "--disableTelemetry", "--silent"}
	// Node's default heap (about 2 GiB) cannot hold a million entities:
	// Azurite dies on its way there, so it gets room to try
	env := []string{fmt.Sprintf("NODE_OPTIONS=--max-old-space-size=%d", azuriteHeapMiB)}
	return launch(bin, args, env, dir, tp, qp)
}

// azuriteBinary finds npm's azurite, installing it into a cache directory
// when it is missing (the directory bench/blob uses too).
func azuriteBinary() (string, error) {
	if p, err := exec.LookPath("azurite"); err == nil {
		return p, nil
	}
	cache, _ := os.UserCacheDir()
	dir := filepath.Join(cache, "atrest-bench", "azurite")
	bin := filepath.Join(dir, "node_modules", ".bin", "azurite")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	os.MkdirAll(dir, 0o755)
	logf("installing azurite from npm into %s", dir)
	if out, err := exec.Command("npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "azurite@3").CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install azurite: %v\n%s", err, out)
	}
	return bin, nil
}

// azuriteHeapMiB is Node's heap limit for Azurite (flag -azurite-heap).
var azuriteHeapMiB = 8192

// exited describes how the server ended, if it has.
func (s *server) exited() string {
	select {
	case err := <-s.done:
		s.done <- err
		if err == nil {
			return "server exited"
		}
		return "server exited: " + err.Error()
	default:
		return ""
	}
}

// stop ends the server with SIGTERM (both flush their data then) and
// waits for it.
func (s *server) stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(5 * time.Minute):
		s.kill()
		return fmt.Errorf("server did not stop within 5 minutes")
	}
}

func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

func (s *server) cleanup() { os.RemoveAll(s.dir) }

// diskBytes is the allocated size of the data directory.
func (s *server) diskBytes() int64 {
	var n int64
	filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				if st, ok := fi.Sys().(*syscall.Stat_t); ok {
					n += st.Blocks * 512
				}
			}
		}
		return nil
	})
	return n
}

// peakRSS reads the server's high-water resident set size in MiB.
func (s *server) peakRSS() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func (s *server) conn() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;TableEndpoint=%s;QueueEndpoint=%s;",
		devKey, s.tableURL, s.queueURL)
}
