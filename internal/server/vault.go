package server

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/atrest/atrest/internal/admin"
	"github.com/atrest/atrest/internal/audit"
	"github.com/atrest/atrest/internal/identity"
	"github.com/atrest/atrest/internal/keyvault"
	"github.com/atrest/atrest/internal/rbac"
	"github.com/atrest/atrest/internal/secret"
)

// VaultConfig tunes the Key Vault and the token issuer.
type VaultConfig struct {
	// DefaultVault is served at the bare host (default "default"; "-" for none).
	DefaultVault string
	// Tenant fixes the tenant id on first start (default: a generated GUID).
	Tenant string
	// Hosts are the host names the endpoints answer to (default localhost,
	// 127.0.0.1, ::1); vaults are {vault}.{host}.
	Hosts []string
	// CacheTTL bounds how long opened keys stay in memory (default 5m).
	CacheTTL time.Duration
	// SweepEvery is how often rotation policies and purges run (default 1m).
	SweepEvery time.Duration
	// TokenTTL is the lifetime of issued tokens (default 1h).
	TokenTTL time.Duration
	// NoAdminSocket skips the admin socket (the CLI then needs the server stopped).
	NoAdminSocket bool
}

// AuditFile is the Key Vault audit log's path in a data directory.
func AuditFile(dataDir string) string { return filepath.Join(dataDir, "audit", "keyvault.audit") }

const auditLogName = "keyvault"

// vaultParts are the Key Vault, the issuer and what they share.
type vaultParts struct {
	audit *audit.Log
	ident *identity.Service
	rbac  *rbac.Store
	kv    *keyvault.Service
	admin *admin.Admin
}

func openVaultParts(dataDir string, st *Stores, vc VaultConfig, log *slog.Logger) (*vaultParts, error) {
	auditKEK, err := st.Keys.ServiceKEK("audit/keyvault")
	if err != nil {
		return nil, err
	}
	al, err := audit.Open(AuditFile(dataDir), auditLogName, auditKEK)
	if err != nil {
		return nil, err
	}
	p := &vaultParts{audit: al}
	fail := func(err error) (*vaultParts, error) {
		al.Close()
		return nil, err
	}
	if p.ident, err = identity.New(st.DB, st.Keys, identity.Options{Tenant: vc.Tenant, TokenTTL: vc.TokenTTL, Hosts: vc.Hosts, Log: log}); err != nil {
		return fail(err)
	}
	if p.rbac, err = rbac.Open(st.DB, st.Keys); err != nil {
		return fail(err)
	}
	p.kv, err = keyvault.New(keyvault.Deps{DB: st.DB, Keys: st.Keys, Identity: p.ident, RBAC: p.rbac, Audit: al},
		keyvault.Options{Hosts: vc.Hosts, DefaultVault: vc.DefaultVault, CacheTTL: vc.CacheTTL, SweepEvery: vc.SweepEvery, Log: log})
	if err != nil {
		return fail(err)
	}
	p.admin = &admin.Admin{KV: p.kv, Identity: p.ident, RBAC: p.rbac, AuditPath: AuditFile(dataDir), AuditName: auditLogName, Resolver: st.Keys, Audit: al}
	return p, nil
}

func (p *vaultParts) close() error {
	if p == nil {
		return nil
	}
	p.kv.Close()
	return p.audit.Close()
}

// startVault opens the Key Vault and starts its HTTPS listeners (always
// TLS) and the admin socket.
func (s *Server) startVault(cfg Config, st *Stores) error {
	p := s.vault
	tlsCfg, caFile, err := vaultTLS(cfg, st)
	if err != nil {
		return err
	}
	if caFile != "" {
		s.CAFile = caFile
	}
	if err := s.startMgmt(cfg); err != nil {
		return err
	}
	if s.IdentityURL, err = s.listen(cfg.Host, cfg.IdentityPort, withMgmt(s.Mgmt, false, p.ident.Handler()), tlsCfg); err != nil {
		return fmt.Errorf("identity endpoint: %w", err)
	}
	if s.VaultURL, err = s.listen(cfg.Host, cfg.VaultPort, p.kv, tlsCfg); err != nil {
		return fmt.Errorf("key vault endpoint: %w", err)
	}
	vaultPort, idPort := portOf(s.VaultURL), portOf(s.IdentityURL)
	p.ident.SetPort(idPort)
	p.kv.SetPorts(vaultPort, idPort)
	p.admin.VaultURL = fmt.Sprintf("https://localhost:%d", vaultPort)
	p.admin.IdentityURL = fmt.Sprintf("https://localhost:%d", idPort)
	p.admin.CAFile = s.CAFile
	if cfg.Vault.NoAdminSocket {
		return nil
	}
	ln, err := admin.Listen(cfg.DataDir)
	if err != nil {
		cfg.Log.Warn("admin socket unavailable; CLI commands need the server stopped", "err", err)
		return nil
	}
	srv := &http.Server{Handler: withMgmt(s.Mgmt, true, p.admin.Handler(cfg.Log)), ReadHeaderTimeout: 30 * time.Second}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr <- err
		}
	}()
	return nil
}

func portOf(u string) int {
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(u, "https://"))
	var n int
	fmt.Sscan(port, &n)
	return n
}

// stopVault ends the sweep and syncs the audit log; the listeners are
// already shut down.
func (s *Server) stopVault() error { return s.vault.close() }

// KeyVault is the running Key Vault (nil if it failed to start).
func (s *Server) KeyVault() *keyvault.Service {
	if s.vault == nil {
		return nil
	}
	return s.vault.kv
}

// Identity is the running token issuer.
func (s *Server) Identity() *identity.Service {
	if s.vault == nil {
		return nil
	}
	return s.vault.ident
}

// Admin runs operator commands in-process.
func (s *Server) Admin() *admin.Admin {
	if s.vault == nil {
		return nil
	}
	return s.vault.admin
}

// OpenAdmin opens a stopped installation's data directory for operator
// commands; close releases it.
func OpenAdmin(dataDir string, root secret.Key, vc VaultConfig, log *slog.Logger) (*admin.Admin, func() error, error) {
	st, err := OpenStores(dataDir, root, 0, log)
	if err != nil {
		return nil, nil, err
	}
	p, err := openVaultParts(dataDir, st, vc, log)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	p.admin.CAFile = CACertPath(dataDir)
	return p.admin, func() error {
		err := p.close()
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

// vaultTLS is the certificate setup of the HTTPS-only endpoints: a
// user-supplied certificate, or leaves from the local CA issued per server
// name, so that https://{vault}.localhost verifies under OpenSSL (which
// does not accept *.localhost).
func vaultTLS(cfg Config, st *Stores) (*tls.Config, string, error) {
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("load certificate: %w", err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, "", nil
	}
	ca, caKey, err := LoadOrCreateCA(cfg.DataDir, st)
	if err != nil {
		return nil, "", err
	}
	def, err := issueLeaf(ca, caKey)
	if err != nil {
		return nil, "", err
	}
	hosts := cfg.Vault.Hosts
	if len(hosts) == 0 {
		hosts = identity.DefaultHosts
	}
	lc := &leafCache{ca: ca, key: caKey, def: &def, hosts: hosts, byName: map[string]*tls.Certificate{}}
	return &tls.Config{GetCertificate: lc.get, MinVersion: tls.VersionTLS12}, CACertPath(cfg.DataDir), nil
}

type leafCache struct {
	ca    *x509.Certificate
	key   *ecdsa.PrivateKey
	def   *tls.Certificate
	hosts []string

	mu     sync.Mutex
	byName map[string]*tls.Certificate
}

const maxLeaves = 1024

func (lc *leafCache) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if !lc.vaultName(name) {
		return lc.def, nil
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if c, ok := lc.byName[name]; ok {
		return c, nil
	}
	if len(lc.byName) >= maxLeaves {
		clear(lc.byName)
	}
	c, err := issueNamedLeaf(lc.ca, lc.key, name)
	if err != nil {
		return nil, err
	}
	lc.byName[name] = c
	return c, nil
}

// vaultName reports whether name is {label}.{host} for a served host name.
func (lc *leafCache) vaultName(name string) bool {
	for _, h := range lc.hosts {
		if net.ParseIP(h) != nil {
			continue
		}
		if label, ok := strings.CutSuffix(name, "."+h); ok && label != "" && !strings.Contains(label, ".") {
			return true
		}
	}
	return false
}

// issueNamedLeaf issues a leaf for one vault host name plus the local names.
func issueNamedLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(caKey.Curve, rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{name, "localhost", "*.localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key}, nil
}
