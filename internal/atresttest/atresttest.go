// Package atresttest runs atrest in-process for library tests and examples:
// all services on ephemeral loopback ports, stopped when the test ends.
package atresttest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/server"
)

// Start runs a server with a fresh data directory.
func Start(t testing.TB) *server.Server {
	t.Helper()
	srv, stop, err := Run(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return srv
}

// Run runs a server over dir, for examples that have no testing.T.
func Run(dir string) (*server.Server, func(), error) {
	accts, err := edge.ParseAccounts("")
	if err != nil {
		return nil, nil, err
	}
	srv, err := server.Start(server.Config{Host: "127.0.0.1", DataDir: dir, Accounts: accts,
		Vault: server.VaultConfig{NoAdminSocket: true},
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, nil, err
	}
	return srv, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// ConnectionString is the development account's connection string for srv.
func ConnectionString(srv *server.Server) string {
	return srv.ConnectionString(edge.DevAccount, edge.DevKey)
}

// Context is a context that ends with the test, or after a minute.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
