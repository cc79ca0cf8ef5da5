package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/server"
)

// common flags shared by commands that open a data directory.
type common struct {
	dataDir     string
	rootKeyFile string
	logLevel    string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data", envOr("ATREST_DATA", "atrest-data"), "data directory (env ATREST_DATA)")
	fs.StringVar(&c.rootKeyFile, "root-key-file", os.Getenv("ATREST_ROOT_KEY_FILE"), "file holding the base64 256-bit root key (env ATREST_ROOT_KEY_FILE, or the key itself in ATREST_ROOT_KEY); default: a development key kept in the data directory")
	fs.StringVar(&c.logLevel, "log-level", envOr("ATREST_LOG_LEVEL", "info"), "debug, info, warn or error")
}

func (c *common) rootKey() (secret.Key, error) {
	if c.rootKeyFile != "" {
		return server.ReadRootKey(c.rootKeyFile)
	}
	if v := os.Getenv("ATREST_ROOT_KEY"); v != "" {
		return server.ParseRootKey(v)
	}
	return secret.Key{}, nil
}

func (c *common) logger() (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", c.logLevel, err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv})), nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func accounts() (edge.Accounts, error) {
	return edge.ParseAccounts(os.Getenv("AZURITE_ACCOUNTS"))
}
