package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"github.com/atrest/atrest/internal/edge"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/atrest/atrest/internal/account"
	"github.com/atrest/atrest/internal/cmk"
	"github.com/atrest/atrest/internal/identity"
	"github.com/atrest/atrest/internal/mgmt"
	"github.com/atrest/atrest/internal/rewrap"
	"github.com/atrest/atrest/internal/secret"
)

// KeyConfig tunes the account key models.
type KeyConfig struct {
	// InfraKey is the root of the infrastructure-encryption layer,
	// independent of the root key. Zero means: use (or create) the
	// development file infra.key in the data directory.
	InfraKey secret.Key
	// CMKCacheTTL bounds how long an unwrapped customer-managed
	// intermediate key is used: the revocation window (default 5m).
	CMKCacheTTL time.Duration
	// CMKFollowEvery is how often versionless customer-managed keys are
	// checked for a newer version (default 1h).
	CMKFollowEvery time.Duration
	// HSM wraps keys on a PKCS#11 token (optional).
	HSM cmk.Wrapper
}

// InfraKeyFile is the development infrastructure root key's file.
const InfraKeyFile = "infra.key"

// accountParts are the account registry, the customer-managed keys and
// the management API.
type accountParts struct {
	reg  *account.Registry
	cmk  *cmk.Manager
	mgmt *mgmt.API

	jobs   sync.WaitGroup // background rewrap jobs
	cancel context.CancelFunc
	ctx    context.Context
	mu     sync.Mutex
	active map[string]bool
}

// principals gives accounts their managed identities.
type principals struct{ id *identity.Service }

func (p principals) NewManagedIdentity(name string) (string, string, error) {
	pr, _, err := p.id.CreatePrincipal(name, identity.ManagedIdentity)
	return pr.ObjectID, pr.ClientID, err
}

func (p principals) DeleteManagedIdentity(oid string) error {
	_, err := p.id.DeletePrincipal(oid)
	return err
}

func (p principals) Tenant() string { return p.id.Tenant() }

// openAccounts opens the registry and the key models on top of the
// stores and the Key Vault; from then on every service's KEK choice goes
// through the registry.
func openAccounts(cfg Config, st *Stores, vp *vaultParts) (*accountParts, error) {
	infra := cfg.Keys.InfraKey
	if infra.IsZero() {
		var err error
		if infra, err = devKeyFile(filepath.Join(cfg.DataDir, InfraKeyFile), "infrastructure root key", cfg.Log); err != nil {
			return nil, err
		}
	}
	if err := st.Keys.SetInfrastructureRoot(infra); err != nil {
		return nil, err
	}
	m, err := cmk.New(cmk.Deps{DB: st.DB, Keys: st.Keys, KV: vp.kv, Identity: vp.ident, HSM: cfg.Keys.HSM},
		cmk.Options{CacheTTL: cfg.Keys.CMKCacheTTL, FollowEvery: cfg.Keys.CMKFollowEvery, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	reg, err := account.Open(account.Deps{DB: st.DB, Keys: st.Keys, BuiltIn: cfg.Accounts, Principals: principals{vp.ident},
		Customer: m, Log: cfg.Log})
	if err != nil {
		m.Close()
		return nil, err
	}
	ap := &accountParts{reg: reg, cmk: m, active: map[string]bool{}}
	ap.ctx, ap.cancel = context.WithCancel(context.Background())
	return ap, nil
}

func (ap *accountParts) close() {
	if ap == nil {
		return
	}
	ap.cancel()
	ap.jobs.Wait()
	if ap.cmk != nil {
		ap.cmk.Close()
	}
}

// startRewrap runs an account's rewrap job in the background (one per
// account at a time; a change during a run starts another after it).
func (ap *accountParts) startRewrap(st *Stores, acct string, log *slog.Logger) {
	ap.mu.Lock()
	if ap.active[acct] {
		ap.mu.Unlock()
		return
	}
	ap.active[acct] = true
	ap.mu.Unlock()
	ap.jobs.Add(1)
	go func() {
		defer ap.jobs.Done()
		defer func() {
			ap.mu.Lock()
			delete(ap.active, acct)
			ap.mu.Unlock()
		}()
		target, err := ap.reg.RewrapTarget(acct)
		if err == nil {
			var rep *rewrap.State
			rep, err = rewrap.Run(ap.ctx, st.DB, st.Keys, target, rewrap.Options{Account: acct})
			if err == nil {
				log.Info("rewrap finished", "account", acct, "examined", rep.Stats.Examined, "rewrapped", rep.Stats.Rewrapped,
					"unavailable", rep.Stats.Unavailable)
			}
		}
		if err != nil && ap.ctx.Err() == nil {
			log.Error("rewrap failed; it resumes at the next start", "account", acct, "err", err)
		}
	}()
}

// resumeRewraps restarts jobs a stop or crash cut short.
func (ap *accountParts) resumeRewraps(st *Stores, log *slog.Logger) {
	for _, a := range ap.reg.List() {
		if s, err := rewrap.Load(st.DB, a.Name); err == nil && s != nil && s.Phase != "done" {
			ap.startRewrap(st, a.Name, log)
		}
	}
}

// startMgmt builds the management API once the endpoints are known.
func (s *Server) startMgmt(cfg Config) error {
	ap := s.accounts
	api, err := mgmt.New(mgmt.Deps{DB: s.Stores.DB, Keys: s.Stores.Keys, Accounts: ap.reg, KV: s.vault.kv, RBAC: s.vault.rbac,
		Identity: s.vault.ident, Log: cfg.Log,
		Endpoints: func() mgmt.Endpoints {
			return mgmt.Endpoints{Blob: s.BlobURL, Queue: s.QueueURL, Table: s.TableURL, Vault: s.VaultURL}
		},
		CurrentKeyVersion: ap.cmk.CurrentVersion,
		Refresh: func(acct string) error {
			_, err := ap.cmk.Follow("account/" + acct)
			return err
		},
		KeyChanged: s.keyChanged,
	})
	if err != nil {
		return err
	}
	ap.mgmt = api
	ap.resumeRewraps(s.Stores, cfg.Log)
	return nil
}

// keyChanged starts re-wrapping an account's data keys after its KEK
// changed.
func (s *Server) keyChanged(acct string) {
	s.accounts.startRewrap(s.Stores, acct, s.cfg.Log)
}

// withMgmt serves the management API's paths beside another handler.
func withMgmt(api func() *mgmt.API, operator bool, rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.ToLower(r.URL.Path)
		if a := api(); a != nil && (strings.HasPrefix(p, "/subscriptions") || (operator && strings.HasPrefix(p, "/atrest/"))) {
			a.Handler(operator).ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}

// Accounts is the account registry.
func (s *Server) Accounts() *account.Registry {
	if s.accounts == nil {
		return nil
	}
	return s.accounts.reg
}

// CMK is the customer-managed key manager.
func (s *Server) CMK() *cmk.Manager {
	if s.accounts == nil {
		return nil
	}
	return s.accounts.cmk
}

// Mgmt is the management API.
func (s *Server) Mgmt() *mgmt.API {
	if s.accounts == nil {
		return nil
	}
	return s.accounts.mgmt
}

func devKeyFile(path, what string, log *slog.Logger) (secret.Key, error) {
	k, err := ReadRootKey(path)
	if err == nil {
		return k, nil
	}
	k, err = createKeyFile(path)
	if err != nil {
		return secret.Key{}, fmt.Errorf("%s: %w", what, err)
	}
	log.Warn("created a development "+what+" in the data directory; supply one outside development", "file", path)
	return k, nil
}

// createKeyFile writes a new random 256-bit key, base64, readable by the
// owner only; it never replaces an existing file.
func createKeyFile(path string) (secret.Key, error) {
	k, err := secret.Random(32)
	if err != nil {
		return secret.Key{}, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return secret.Key{}, err
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(k.Bytes()) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return secret.Key{}, err
	}
	return k, nil
}

// OpenInstallation opens a stopped installation's data directory with
// every key source wired (Key Vault, customer-managed keys,
// infrastructure layer), so that tools such as verify and rewrap read
// what the server reads. close releases it.
func OpenInstallation(dataDir string, root secret.Key, kc KeyConfig, accts edge.Accounts, log *slog.Logger) (*Stores, *account.Registry, func() error, error) {
	st, err := OpenStores(dataDir, root, 0, log)
	if err != nil {
		return nil, nil, nil, err
	}
	vp, err := openVaultParts(dataDir, st, VaultConfig{}, log)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	ap, err := openAccounts(Config{DataDir: dataDir, Keys: kc, Accounts: accts, Log: log}, st, vp)
	if err != nil {
		vp.close()
		st.Close()
		return nil, nil, nil, err
	}
	return st, ap.reg, func() error {
		ap.close()
		err := vp.close()
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}
