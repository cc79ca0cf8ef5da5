package csekv

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/atrest/atrest/cse"
)

// Resolver is a cse.KeyResolver for key ids that are Key Vault key URLs.
// It keeps one azkeys client per vault and one KEK per key version.
type Resolver struct {
	// Vaults are the vault URLs (https://host[:port]) whose keys may be
	// used. Key ids naming any other host resolve to nothing.
	Vaults []string
	// Credential authenticates to the vaults.
	Credential azcore.TokenCredential
	// ClientOptions configure the azkeys clients (transport, challenge
	// resource verification).
	ClientOptions *azkeys.ClientOptions
	// Options are passed to New for each key.
	Options *Options

	mu      sync.Mutex
	clients map[string]*azkeys.Client
	keks    map[string]*KEK
}

// ResolveKey implements cse.KeyResolver. It returns (nil, nil) for a key id
// that is not a key URL on one of Vaults.
func (r *Resolver) ResolveKey(ctx context.Context, keyID string) (cse.KeyEncryptionKey, error) {
	vault, name, version, ok := ParseKeyID(keyID)
	if !ok || version == "" || !r.allowed(vault) {
		return nil, nil
	}
	r.mu.Lock()
	if k := r.keks[keyID]; k != nil {
		r.mu.Unlock()
		return k, nil
	}
	c, err := r.client(vault)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	k, err := New(ctx, c, name, version, r.Options)
	if err != nil {
		return nil, err
	}
	if k.KeyID() != keyID {
		return nil, fmt.Errorf("csekv: vault answered %q for %q", k.KeyID(), keyID)
	}
	r.mu.Lock()
	if r.keks == nil {
		r.keks = map[string]*KEK{}
	}
	r.keks[keyID] = k
	r.mu.Unlock()
	return k, nil
}

func (r *Resolver) allowed(vault string) bool {
	for _, v := range r.Vaults {
		if strings.EqualFold(strings.TrimRight(v, "/"), vault) {
			return true
		}
	}
	return false
}

// client returns the vault's client; r.mu is held.
func (r *Resolver) client(vault string) (*azkeys.Client, error) {
	if c := r.clients[vault]; c != nil {
		return c, nil
	}
	c, err := azkeys.NewClient(vault, r.Credential, r.ClientOptions)
	if err != nil {
		return nil, err
	}
	if r.clients == nil {
		r.clients = map[string]*azkeys.Client{}
	}
	r.clients[vault] = c
	return c, nil
}

// ParseKeyID splits a key URL https://{vault}/keys/{name}[/{version}] into
// the vault URL (scheme and host), the key name and the version.
func ParseKeyID(keyID string) (vault, name, version string, ok bool) {
	u, err := url.Parse(keyID)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", "", false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "keys" || parts[1] == "" {
		return "", "", "", false
	}
	if len(parts) == 3 {
		version = parts[2]
	}
	return "https://" + strings.ToLower(u.Host), parts[1], version, true
}
