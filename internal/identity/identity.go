// Package identity is atrest's token issuer and principal directory.
//
// It serves what the official Azure credentials ask of Entra ID when they
// are pointed at a local authority (OpenID discovery, JWKS, the
// client-credentials token endpoint and the App Service managed-identity
// endpoint) and issues RS256 JWTs carrying tenant, object id, audience and
// expiry. Services check tokens with Verify, which validates signature,
// issuer, audience, expiry and not-before. Most callers need two calls:
//
//	svc, _ := identity.New(db, keyring, identity.Options{})
//	caller, err := svc.Verify(token, func(aud string) bool { return aud == myAudience })
//
// Principals (service principals and managed identities) are created by the
// operator and get a random secret shown once; only a keyed, salted MAC of it
// is kept. Signing keys and everything else are sealed records in the sse
// DB under the "id\x00" prefix, so nothing here is readable without the
// installation root key.
package identity

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
)

// KEKRef is the service-managed KEK that seals identity records.
const KEKRef = "identity/signing"

// Record key prefixes (all under the sse DB's sealed records).
const (
	recTenant    = "id\x00tenant"
	recPepper    = "id\x00pepper"
	prefixSign   = "id\x00sk\x00"
	prefixPrinc  = "id\x00p\x00"
	prefixMIHash = "id\x00mi\x00"
)

// Options configure the issuer.
type Options struct {
	// Tenant fixes the tenant id; empty means one generated on first start
	// and kept.
	Tenant string
	// TokenTTL is the lifetime of issued tokens (default one hour).
	TokenTTL time.Duration
	// Hosts are the host names clients reach the issuer by; issuer URLs are
	// built from them. Default: localhost, 127.0.0.1 and ::1.
	Hosts []string
	Log   *slog.Logger
}

// DefaultHosts are the names a local installation answers to.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// Service issues and verifies tokens and keeps principals.
type Service struct {
	db     *sse.DB
	kek    sse.KEK
	log    *slog.Logger
	ttl    time.Duration
	hosts  []string
	tenant string
	pepper secret.Key
	port   atomic.Int32 // the HTTPS port once listening; 0 = any

	sign *keySet

	tokMu    sync.Mutex
	tokCache map[[32]byte]*Claims // tokens whose signature has been verified

	mu       sync.RWMutex
	byOID    map[string]*Principal
	byClient map[string]*Principal
}

// New opens the issuer's state, creating the tenant, the secret-hashing key
// and the first signing key on first use.
func New(db *sse.DB, keys *sse.Keyring, opt Options) (*Service, error) {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.TokenTTL <= 0 {
		opt.TokenTTL = time.Hour
	}
	if len(opt.Hosts) == 0 {
		opt.Hosts = DefaultHosts
	}
	kek, err := keys.ServiceKEK(KEKRef)
	if err != nil {
		return nil, err
	}
	s := &Service{db: db, kek: kek, log: opt.Log, ttl: opt.TokenTTL, hosts: opt.Hosts,
		byOID: map[string]*Principal{}, byClient: map[string]*Principal{}, tokCache: map[[32]byte]*Claims{}}
	if opt.Tenant != "" && !validTenant(opt.Tenant) {
		return nil, fmt.Errorf("identity: tenant %q must be letters, digits, '.' and '-'", opt.Tenant)
	}
	if err := s.loadOrCreateBasics(opt.Tenant); err != nil {
		return nil, err
	}
	if s.sign, err = loadKeySet(db, kek); err != nil {
		return nil, err
	}
	if err := s.loadPrincipals(); err != nil {
		return nil, err
	}
	return s, nil
}

// loadOrCreateBasics loads the tenant id and the secret-hashing key.
func (s *Service) loadOrCreateBasics(fixedTenant string) error {
	var tenant string
	var pepper []byte
	err := s.db.View(func(tx *sse.Tx) error {
		if b, err := tx.Get([]byte(recTenant)); err == nil {
			tenant = string(b)
		} else if !errors.Is(err, sse.ErrNotFound) {
			return err
		}
		if b, err := tx.Get([]byte(recPepper)); err == nil {
			pepper = b
		} else if !errors.Is(err, sse.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if fixedTenant != "" && tenant != "" && !strings.EqualFold(fixedTenant, tenant) {
		return fmt.Errorf("identity: this data directory belongs to tenant %s, not %s", tenant, fixedTenant)
	}
	if tenant == "" || pepper == nil {
		if tenant == "" {
			tenant = fixedTenant
			if tenant == "" {
				tenant = uuid.NewString()
			}
		}
		if pepper == nil {
			k, err := secret.Random(32)
			if err != nil {
				return err
			}
			pepper = k.Bytes()
		}
		err := s.db.Update(func(tx *sse.Tx) error {
			if err := tx.Put([]byte(recTenant), []byte(tenant), s.kek); err != nil {
				return err
			}
			return tx.Put([]byte(recPepper), pepper, s.kek)
		})
		if err != nil {
			return err
		}
	}
	s.tenant = strings.ToLower(tenant)
	s.pepper = secret.New(pepper)
	clear(pepper)
	return nil
}

// Tenant is the installation's tenant id.
func (s *Service) Tenant() string { return s.tenant }

// SetPort records the HTTPS port the issuer listens on, so that only
// issuer URLs naming it are accepted.
func (s *Service) SetPort(p int) { s.port.Store(int32(p)) }

func validTenant(t string) bool {
	if t == "" || len(t) > 64 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
