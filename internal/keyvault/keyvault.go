// Package keyvault is atrest's Azure-Key-Vault-compatible key service: the
// keys REST API the official azkeys (Go) and azure-keyvault-keys (Python)
// clients speak, several named vaults, soft delete, backups, rotation
// policies, role-based access control and an audit record for every
// operation.
//
// Key material is generated from crypto/rand and sealed under the vault's
// service-managed KEK (itself sealed by the installation root key) the
// moment it exists; responses carry public parts only and backups are
// sealed blobs. Most callers need two things:
//
//	svc, _ := keyvault.New(keyvault.Deps{...}, keyvault.Options{})
//	http.Handle("/", svc)                                  // the HTTPS API
//	svc.UnwrapKey(ctx, caller, keyvault.KeyRef{Vault: "kv1", Name: "cmk"}, "RSA-OAEP-256", wrapped)
//
// A vault is addressed by host name, https://{vault}.localhost:{port}; the
// bare host (https://localhost:{port}, https://127.0.0.1:{port}) is the
// default vault. Every operation, whatever its entry point, passes through
// authorize (the one access decision) and leaves one audit event.
package keyvault

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atrest/atrest/internal/audit"
	"github.com/atrest/atrest/internal/clock"
	"github.com/atrest/atrest/internal/identity"
	"github.com/atrest/atrest/internal/rbac"
	"github.com/atrest/atrest/internal/sse"
)

// Deps are the parts the service is built on.
type Deps struct {
	DB       *sse.DB
	Keys     *sse.Keyring
	Identity *identity.Service
	RBAC     *rbac.Store
	Audit    *audit.Log
}

// Options tune the service.
type Options struct {
	// Hosts are the base host names vaults are reached under
	// ({vault}.{host}); default localhost, 127.0.0.1 and ::1.
	Hosts []string
	// DefaultVault is served at a bare host, and created on first start if
	// missing. Default "default"; "-" disables it.
	DefaultVault string
	// CacheTTL bounds how long an opened key stays in memory (default 5m).
	CacheTTL time.Duration
	// SweepEvery is how often rotation policies and purge dates are
	// checked (default one minute).
	SweepEvery time.Duration
	Clock      *clock.Clock
	Log        *slog.Logger
}

// Service is the Key Vault.
type Service struct {
	db     *sse.DB
	keys   *sse.Keyring
	ident  *identity.Service
	rbac   *rbac.Store
	audit  *audit.Log
	clock  *clock.Clock
	log    *slog.Logger
	opts   Options
	cache  *cache
	port   atomic.Int32 // vault HTTPS port, for URLs and audiences
	idPort atomic.Int32 // identity HTTPS port, for challenges

	mu     sync.RWMutex
	vaults map[string]Vault

	sweepMu sync.Mutex // one sweep at a time
	stop    chan struct{}
	done    chan struct{}
}

// New opens the service, restoring the clock offset and vaults, and starts
// the background sweep.
func New(d Deps, opt Options) (*Service, error) {
	if d.DB == nil || d.Keys == nil || d.Identity == nil || d.RBAC == nil || d.Audit == nil {
		return nil, errors.New("keyvault: missing dependency")
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Clock == nil {
		opt.Clock = clock.New()
	}
	if len(opt.Hosts) == 0 {
		opt.Hosts = identity.DefaultHosts
	}
	if opt.DefaultVault == "" {
		opt.DefaultVault = "default"
	}
	if opt.CacheTTL == 0 {
		opt.CacheTTL = 5 * time.Minute
	}
	if opt.SweepEvery <= 0 {
		opt.SweepEvery = time.Minute
	}
	s := &Service{db: d.DB, keys: d.Keys, ident: d.Identity, rbac: d.RBAC, audit: d.Audit, clock: opt.Clock,
		log: opt.Log, opts: opt, cache: newCache(opt.CacheTTL), vaults: map[string]Vault{},
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.loadVaults(); err != nil {
		return nil, err
	}
	if err := s.loadClock(); err != nil {
		return nil, err
	}
	if opt.DefaultVault != "-" {
		if _, ok := s.Vault(opt.DefaultVault); !ok {
			if _, err := s.CreateVault(opt.DefaultVault, 90, false); err != nil {
				return nil, fmt.Errorf("keyvault: default vault: %w", err)
			}
		}
	}
	go s.sweepLoop()
	return s, nil
}

// Close stops the background sweep.
func (s *Service) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// SetPorts records the listening ports of the vault and the identity
// endpoint; they appear in key ids, challenges and accepted audiences.
func (s *Service) SetPorts(vault, identity int) {
	s.port.Store(int32(vault))
	s.idPort.Store(int32(identity))
}

// Clock is the service clock (shiftable for tests).
func (s *Service) Clock() *clock.Clock { return s.clock }

func (s *Service) now() time.Time { return s.clock.Now().Truncate(time.Second) }

func (s *Service) loadClock() error {
	return s.db.View(func(tx *sse.Tx) error {
		b, err := tx.Get([]byte(recClock))
		if errors.Is(err, sse.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(b) == 8 {
			s.clock.SetOffset(time.Duration(binary.BigEndian.Uint64(b)))
		}
		return nil
	})
}

// AdvanceClock moves the service clock forward by d, keeps the offset
// across restarts, and runs the sweep at once so that rotations and purges
// now due happen before it returns.
func (s *Service) AdvanceClock(ctx context.Context, d time.Duration) (time.Duration, SweepReport, error) {
	off, ok := s.clock.Advance(d)
	if !ok {
		return off, SweepReport{}, fmt.Errorf("the clock only moves forward: %s is not a positive duration", d)
	}
	kek, err := s.keys.ServiceKEK(serviceKEKRef)
	if err != nil {
		return off, SweepReport{}, err
	}
	err = s.db.Update(func(tx *sse.Tx) error {
		return tx.Put([]byte(recClock), binary.BigEndian.AppendUint64(nil, uint64(off)), kek)
	})
	if err != nil {
		return off, SweepReport{}, err
	}
	s.cache.dropAll()
	rep, err := s.Sweep(ctx)
	return off, rep, err
}

func (s *Service) sweepLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opts.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if _, err := s.Sweep(context.Background()); err != nil {
				s.log.Error("key vault sweep failed", "err", err)
			}
		}
	}
}
