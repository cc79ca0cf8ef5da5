package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/admin"
	"github.com/atrest/atrest/internal/server"
)

// vaultFlags are serve's Key Vault and identity flags.
type vaultFlags struct {
	vaultPort, identityPort int
	defaultVault, tenant    string
	hosts                   string
	cacheTTL, sweepEvery    time.Duration
	tokenTTL                time.Duration
}

func registerVaultFlags(fs *flag.FlagSet) *vaultFlags {
	v := &vaultFlags{}
	fs.IntVar(&v.vaultPort, "vault-port", 8443, "Key Vault HTTPS port (0 picks a free one)")
	fs.IntVar(&v.identityPort, "identity-port", 8444, "token issuer HTTPS port (0 picks a free one)")
	fs.StringVar(&v.defaultVault, "default-vault", "default", `vault served at the bare host ("-" for none)`)
	fs.StringVar(&v.tenant, "tenant", envOr("ATREST_TENANT", ""), "tenant id to create on first start (default: a random GUID)")
	fs.StringVar(&v.hosts, "vault-hosts", "localhost,127.0.0.1,::1", "host names the Key Vault and issuer answer to; vaults are {vault}.{host}")
	fs.DurationVar(&v.cacheTTL, "key-cache-ttl", 5*time.Minute, "how long opened keys stay in memory (bounds how long a change behind the server's back goes unseen)")
	fs.DurationVar(&v.sweepEvery, "sweep-every", time.Minute, "how often rotation policies and purge dates are checked")
	fs.DurationVar(&v.tokenTTL, "token-ttl", time.Hour, "lifetime of issued access tokens")
	return v
}

func (v *vaultFlags) config() server.VaultConfig {
	var hosts []string
	for _, h := range strings.Split(v.hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, strings.ToLower(h))
		}
	}
	return server.VaultConfig{DefaultVault: v.defaultVault, Tenant: v.tenant, Hosts: hosts,
		CacheTTL: v.cacheTTL, SweepEvery: v.sweepEvery, TokenTTL: v.tokenTTL}
}

func printVaultEndpoints(srv *server.Server) {
	if srv.KeyVault() == nil {
		return
	}
	port := strings.TrimPrefix(srv.VaultURL[strings.LastIndex(srv.VaultURL, ":"):], ":")
	fmt.Printf("  vault:    https://{vault}.localhost:%s (default vault: %s)\n", port, srv.VaultURL)
	fmt.Printf("  identity: %s (tenant %s; authority %s/%s)\n", srv.IdentityURL, srv.Identity().Tenant(), srv.IdentityURL, srv.Identity().Tenant())
	fmt.Printf("  admin:    atrest account|scope|user-identity|vault|principal|role|key|audit|clock --data DIR (socket %s)\n", admin.SocketName)
}
