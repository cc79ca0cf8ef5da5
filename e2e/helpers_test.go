package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/server"
)

// testServer is an in-process atrest on ephemeral ports.
type testServer struct {
	*server.Server
	dir  string
	conn string
	logs *bytes.Buffer
	logW *syncWriter
}

type serverOpt func(*server.Config)

func withHTTPS() serverOpt { return func(c *server.Config) { c.HTTPS = true } }

func startServer(t testing.TB, opts ...serverOpt) *testServer {
	t.Helper()
	dir := t.TempDir()
	return startServerAt(t, dir, opts...)
}

func startServerAt(t testing.TB, dir string, opts ...serverOpt) *testServer {
	t.Helper()
	accts, err := edge.ParseAccounts("")
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	lw := &syncWriter{w: logs}
	cfg := server.Config{Host: "127.0.0.1", DataDir: dir, Accounts: accts,
		Log: slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: srv, dir: dir, logs: logs, logW: lw, conn: srv.ConnectionString(edge.DevAccount, edge.DevKey)}
	t.Cleanup(func() { ts.stop() })
	return ts
}

func (ts *testServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ts.Shutdown(ctx)
}

func (ts *testServer) client(t testing.TB) *azblob.Client {
	t.Helper()
	c, err := azblob.NewClientFromConnectionString(ts.conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clientNoRetry fails on the first error instead of retrying 5xx answers.
func (ts *testServer) clientNoRetry(t testing.TB) *azblob.Client {
	t.Helper()
	c, err := azblob.NewClientFromConnectionString(ts.conn, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// syncWriter lets concurrent handlers share a log buffer.
type syncWriter struct {
	w  io.Writer
	mu sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// logText reads the server log so far.
func (ts *testServer) logText() string {
	ts.logW.mu.Lock()
	defer ts.logW.mu.Unlock()
	return ts.logs.String()
}

// scanForPlaintext reads every file under dir and reports which needles
// appear in any of them, in any of the encodings a careless store might use.
func scanForPlaintext(t testing.TB, dir string, needles []string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() { // directories, and sockets such as admin.sock
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			for _, form := range []string{n, strings.ToLower(n), strings.ToUpper(n)} {
				if bytes.Contains(b, []byte(form)) {
					hits = append(hits, n+" in "+path)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// pattern is deterministic, incompressible-looking test content.
func pattern(n int, seed string) []byte {
	out := make([]byte, 0, n+32)
	var ctr [8]byte
	for i := uint64(0); len(out) < n; i++ {
		for j := range ctr {
			ctr[j] = byte(i >> (8 * j))
		}
		h := sha256.Sum256(append([]byte(seed), ctr[:]...))
		out = append(out, h[:]...)
	}
	return out[:n]
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
