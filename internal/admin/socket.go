package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/audit"
)

// SocketName is the admin socket's file name in the data directory.
const SocketName = "admin.sock"

// SocketPath is where a data directory's admin socket lives.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, SocketName) }

// maxSocketPath is the portable limit on a Unix socket path.
const maxSocketPath = 104

// Listen opens the admin socket, replacing a stale one left by a crash; it
// refuses when another server answers on it.
func Listen(dataDir string) (net.Listener, error) {
	path := SocketPath(dataDir)
	if len(path) >= maxSocketPath {
		return nil, fmt.Errorf("admin socket path %s is too long for a Unix socket; use a shorter data directory", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("another atrest is serving %s", dataDir)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// Handler serves commands: POST /v1/{command} with JSON arguments answers
// JSON; audit.read streams JSON lines.
func (a *Admin) Handler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cmd, ok := strings.CutPrefix(r.URL.Path, "/v1/")
		if !ok || r.Method != http.MethodPost {
			http.Error(w, `{"error":"POST /v1/{command}"}`, http.StatusNotFound)
			return
		}
		args, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		if err != nil {
			writeErr(w, err)
			return
		}
		if cmd == "audit.read" {
			a.streamAudit(w, args)
			return
		}
		out, err := a.Do(r.Context(), cmd, args)
		if err != nil {
			log.Info("admin command failed", "command", cmd, "err", err)
			writeErr(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
}

func (a *Admin) streamAudit(w http.ResponseWriter, args []byte) {
	var aa AuditArgs
	if err := parse(args, &aa); err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	err := a.ReadAudit(aa, func(e audit.Event) error { return enc.Encode(e) })
	if err != nil {
		// The stream has started; the last line carries the error.
		enc.Encode(map[string]string{"error": err.Error()})
	}
}

type errorBody struct {
	Error string `json:"error"`
	Usage bool   `json:"usage,omitempty"`
}

func writeErr(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	status := http.StatusUnprocessableEntity // the command ran and refused
	if errors.Is(err, ErrUsage) {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(errorBody{Error: err.Error(), Usage: errors.Is(err, ErrUsage)})
}

// Client talks to a running server's admin socket.
type Client struct {
	hc *http.Client
}

// ErrNotRunning means no server answers on the data directory's socket.
var ErrNotRunning = errors.New("admin: no server is running on this data directory")

// Dial connects to the admin socket of dataDir.
func Dial(dataDir string) (*Client, error) {
	path := SocketPath(dataDir)
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, ErrNotRunning
	}
	c.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{hc: &http.Client{Transport: tr}}, nil
}

func (c *Client) post(ctx context.Context, cmd string, args any) (*http.Response, error) {
	b, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://atrest/v1/"+cmd, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var eb errorBody
		json.NewDecoder(resp.Body).Decode(&eb)
		if eb.Usage {
			return nil, fmt.Errorf("%w: %s", ErrUsage, eb.Error)
		}
		return nil, errors.New(eb.Error)
	}
	return resp, nil
}

// Call runs a command and decodes its result into out.
func (c *Client) Call(ctx context.Context, cmd string, args, out any) error {
	resp, err := c.post(ctx, cmd, args)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

// ReadAudit streams audit events matching args.
func (c *Client) ReadAudit(ctx context.Context, args AuditArgs, fn func(json.RawMessage) error) error {
	resp, err := c.post(ctx, "audit.read", args)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var line json.RawMessage
		if err := dec.Decode(&line); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		var eb errorBody
		if json.Unmarshal(line, &eb) == nil && eb.Error != "" {
			return errors.New(eb.Error)
		}
		if err := fn(line); err != nil {
			return err
		}
	}
}
