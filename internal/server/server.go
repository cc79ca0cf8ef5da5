// Package server wires atrest's parts into running listeners: it opens the
// stores, the keyring and the encryption layer, builds each service and
// serves it. Configuration arrives ready-made in a Config; nothing here
// reads flags or the environment.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/atrest/atrest/internal/blob"
	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/queue"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
	"github.com/atrest/atrest/internal/store/boltmeta"
	"github.com/atrest/atrest/internal/store/fsobjects"
	"github.com/atrest/atrest/internal/table"
)

// Config is everything Start needs, already validated.
type Config struct {
	Host      string
	BlobPort  int // 0 picks a free port
	QueuePort int
	TablePort int
	DataDir   string
	Accounts  edge.Accounts

	// VaultPort and IdentityPort are the Key Vault's and the token
	// issuer's HTTPS ports (0 picks a free one; atrest serve defaults to
	// 8443 and 8444). Vault tunes both (see vault.go).
	VaultPort, IdentityPort int
	Vault                   VaultConfig

	// RootKey seals every service-managed key. Zero means: use (or create)
	// the development root key file in DataDir.
	RootKey secret.Key
	// HTTPS serves the storage endpoints over TLS.
	HTTPS bool
	// CertFile and KeyFile name a certificate to serve; empty means a
	// certificate issued by the local CA kept in DataDir.
	CertFile, KeyFile string
	// Keys tunes the account key models (infrastructure root,
	// customer-managed key cache, HSM); see accounts.go.
	Keys KeyConfig
	// InlineMax is the largest content extent kept in the metadata store.
	InlineMax int64
	Log       *slog.Logger
}

// Server is a running atrest.
type Server struct {
	cfg      Config
	Stores   *Stores
	BlobURL  string
	QueueURL string
	TableURL string

	// VaultURL and IdentityURL are the Key Vault and token issuer endpoints.
	VaultURL, IdentityURL string
	vault                 *vaultParts
	accounts              *accountParts

	CAFile   string // the local CA certificate, when one is in use
	servers  []*http.Server
	serveErr chan error
	stopOnce sync.Once
	stopErr  error
}

// Stores are the opened storage layers, shared by services and tools.
type Stores struct {
	Meta    *boltmeta.DB
	Objects *fsobjects.Dir
	Keys    *sse.Keyring
	DB      *sse.DB
}

// OpenStores opens (or creates) the data directory's stores.
func OpenStores(dir string, root secret.Key, inlineMax int64, log *slog.Logger) (*Stores, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if root.IsZero() {
		var err error
		if root, err = devRootKey(dir, log); err != nil {
			return nil, err
		}
	}
	meta, err := boltmeta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		return nil, err
	}
	objs, err := fsobjects.Open(filepath.Join(dir, "objects"))
	if err != nil {
		meta.Close()
		return nil, err
	}
	keys, err := sse.NewKeyring(root, meta)
	if err != nil {
		meta.Close()
		return nil, err
	}
	db := sse.NewDB(meta, objs, keys, sse.Options{InlineMax: inlineMax, Log: log})
	return &Stores{Meta: meta, Objects: objs, Keys: keys, DB: db}, nil
}

// Close closes the stores after pending commits.
func (s *Stores) Close() error { return s.Meta.Close() }

// Start opens the stores and begins serving; it returns once listening.
func Start(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.InlineMax == 0 {
		cfg.InlineMax = 256 << 10
	}
	st, err := OpenStores(cfg.DataDir, cfg.RootKey, cfg.InlineMax, cfg.Log)
	if err != nil {
		return nil, err
	}
	if n, err := st.DB.Sweep(); err != nil {
		st.Close()
		return nil, err
	} else if n > 0 {
		cfg.Log.Info("removed extents left by an interrupted write", "count", n)
	}
	s := &Server{cfg: cfg, Stores: st, serveErr: make(chan error, 4)}
	var tlsCfg *tls.Config
	if cfg.HTTPS {
		tlsCfg, s.CAFile, err = serverTLS(cfg, st)
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	if s.vault, err = openVaultParts(cfg.DataDir, st, cfg.Vault, cfg.Log); err != nil {
		st.Close()
		return nil, err
	}
	if s.accounts, err = openAccounts(cfg, st, s.vault); err != nil {
		s.vault.close()
		st.Close()
		return nil, err
	}
	find := s.accounts.reg.Find
	bs := blob.New(st.DB, st.Keys, cfg.Log)
	bs.SetScopes(s.accounts.reg)
	if err := bs.ResumePurges(); err != nil {
		s.accounts.close()
		s.vault.close()
		st.Close()
		return nil, err
	}
	blobSvc := &edge.Service{Name: "blob", Flavor: edge.FlavorBlobQueue, Routes: bs.Routes(), Accounts: cfg.Accounts, Find: find,
		Errors: edge.XMLErrors, Log: cfg.Log, Version: blob.Version, Policies: bs.StoredPolicy, CORS: bs.CORS,
		Bearer: s.bearer(), Action: bs.Action, Audit: auditStorage(s.vault.audit), UserDelegation: bs.UserDelegationKey}
	s.BlobURL, err = s.listen(cfg.Host, cfg.BlobPort, blobSvc, tlsCfg)
	if err != nil {
		s.Shutdown(context.Background())
		return nil, err
	}
	qs := queue.New(st.DB, st.Keys, cfg.Log)
	queueSvc := &edge.Service{Name: "queue", Flavor: edge.FlavorBlobQueue, Routes: qs.Routes(), Accounts: cfg.Accounts, Find: find,
		Errors: edge.XMLErrors, Log: cfg.Log, Version: queue.Version, Policies: qs.StoredPolicy, CORS: qs.CORS,
		Bearer: s.bearer(), Action: qs.Action, Audit: auditStorage(s.vault.audit)}
	if s.QueueURL, err = s.listen(cfg.Host, cfg.QueuePort, queueSvc, tlsCfg); err != nil {
		s.Shutdown(context.Background())
		return nil, err
	}
	ts := table.New(st.DB, st.Keys, cfg.Log)
	tableSvc := &edge.Service{Name: "table", Flavor: edge.FlavorTable, Routes: ts.Routes(), Split: table.Split,
		Accounts: cfg.Accounts, Find: find, Errors: table.WriteError, Log: cfg.Log, Version: table.Version, Policies: ts.StoredPolicy, CORS: ts.CORS,
		Bearer: s.bearer(), Action: ts.Action, Audit: auditStorage(s.vault.audit)}
	if s.TableURL, err = s.listen(cfg.Host, cfg.TablePort, tableSvc, tlsCfg); err != nil {
		s.Shutdown(context.Background())
		return nil, err
	}
	if err := s.startVault(cfg, st); err != nil {
		s.Shutdown(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *Server) listen(host string, port int, h http.Handler, tlsCfg *tls.Config) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		return "", err
	}
	scheme := "http"
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
		scheme = "https"
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelDebug)}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr <- err
		}
	}()
	return scheme + "://" + ln.Addr().String(), nil
}

// Shutdown stops accepting requests, waits for those in flight (whose
// writes are durable before they are answered) and closes the stores.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		for _, srv := range s.servers {
			if err := srv.Shutdown(ctx); err != nil && s.stopErr == nil {
				s.stopErr = err
			}
		}
		s.accounts.close()
		if err := s.stopVault(); err != nil && s.stopErr == nil {
			s.stopErr = err
		}
		if err := s.Stores.Close(); err != nil && s.stopErr == nil {
			s.stopErr = err
		}
	})
	return s.stopErr
}

// Err reports a listener that failed after Start.
func (s *Server) Err() <-chan error { return s.serveErr }

// ConnectionString is a ready connection string for an account.
func (s *Server) ConnectionString(acct string, key string) string {
	proto := "http"
	if s.cfg.HTTPS {
		proto = "https"
	}
	return fmt.Sprintf("DefaultEndpointsProtocol=%s;AccountName=%s;AccountKey=%s;BlobEndpoint=%s/%s;QueueEndpoint=%s/%s;TableEndpoint=%s/%s;",
		proto, acct, key, s.BlobURL, acct, s.QueueURL, acct, s.TableURL, acct)
}
