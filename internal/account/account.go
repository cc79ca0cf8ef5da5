// Package account is the registry of storage accounts and their encryption
// scopes, and the one place that decides which key seals an account's data.
//
// An account has a key model: its service-managed key (keySource
// Microsoft.Storage) or a customer-managed key (Microsoft.Keyvault: a key
// in the embedded Key Vault, or on a PKCS#11 token), optionally inside an
// infrastructure layer fixed at creation. Scopes are named keys of an
// account with a model of their own. The registry installs itself as the
// keyring's chooser, so Blob, Queue and Table all seal through it:
//
//	reg, _ := account.Open(db, keyring, account.Deps{...})
//	kek, _ := keyring.AccountKEK("acct")    // asks reg
//	reg.Find("acct")                        // the data plane's accounts
//
// Records are sealed in the sse DB under the "acct\x00" prefix; accounts
// from the configuration (the development account, AZURITE_ACCOUNTS) are
// built in: always present, their keys never stored.
package account

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Key sources, as Azure Resource Manager spells them.
const (
	SourceStorage  = "Microsoft.Storage"
	SourceKeyVault = "Microsoft.Keyvault"
)

// Account is a storage account's settings.
type Account struct {
	Name          string            `json:"name"`
	ResourceGroup string            `json:"resourceGroup"`
	Location      string            `json:"location"`
	Kind          string            `json:"kind"`
	SKU           string            `json:"sku"`
	Tags          map[string]string `json:"tags,omitempty"`
	Created       time.Time         `json:"created"`
	Encryption    Encryption        `json:"encryption"`
	Identity      *Identity         `json:"identity,omitempty"`
	Access        Access            `json:"access"`
	// BuiltIn accounts come from the configuration; their keys are not
	// stored and they cannot be recreated.
	BuiltIn bool `json:"builtIn,omitempty"`
}

// Encryption is an account's key model.
type Encryption struct {
	KeySource string `json:"keySource"`
	// KeyVault names the customer-managed key when KeySource is
	// Microsoft.Keyvault; an empty KeyVersion follows the newest version.
	KeyVault *KeyVaultKey `json:"keyVault,omitempty"`
	// RequireInfrastructureEncryption adds the second layer; fixed at
	// creation.
	RequireInfrastructureEncryption bool      `json:"requireInfrastructureEncryption"`
	KeyLastChanged                  time.Time `json:"keyLastChanged,omitzero"`
	// Identity is the resource id of the user-assigned identity the
	// customer-managed keys are used as; empty: the system-assigned one.
	Identity string `json:"identity,omitempty"`
}

// KeyVaultKey names a customer-managed key: a Key Vault key (vault URI
// https://{vault}.{host}[:port]) or a key on a PKCS#11 token (vault URI
// pkcs11:token={label}).
type KeyVaultKey struct {
	VaultURI string `json:"keyvaulturi"`
	Name     string `json:"keyname"`
	Version  string `json:"keyversion,omitempty"`
}

// Identity is an account's managed identities: the system-assigned one
// (PrincipalID, when it has one) and user-assigned ones, by resource id.
type Identity struct {
	Type         string                  `json:"type"`
	PrincipalID  string                  `json:"principalId"`
	TenantID     string                  `json:"tenantId"`
	UserAssigned map[string]UserAssigned `json:"userAssigned,omitempty"`
}

// Scope is an encryption scope of an account.
type Scope struct {
	Account                         string       `json:"account"`
	Name                            string       `json:"name"`
	Source                          string       `json:"source"` // Microsoft.Storage or Microsoft.KeyVault
	State                           string       `json:"state"`  // Enabled or Disabled
	KeyVault                        *KeyVaultKey `json:"keyVault,omitempty"`
	RequireInfrastructureEncryption bool         `json:"requireInfrastructureEncryption"`
	Created                         time.Time    `json:"created"`
	Modified                        time.Time    `json:"modified"`
}

// Scope states.
const (
	StateEnabled  = "Enabled"
	StateDisabled = "Disabled"
)

// Errors of the registry; ErrInvalid and ErrConflict wrap a message for
// the caller.
var (
	ErrNotFound = errors.New("account: not found")
	ErrExists   = errors.New("account: already exists")
	ErrInvalid  = errors.New("account: invalid request")
	ErrConflict = errors.New("account: conflict")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// ValidName is Azure's rule for account names: 3-24 lower-case letters
// and digits.
func ValidName(n string) bool {
	if len(n) < 3 || len(n) > 24 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ValidScopeName is Azure's rule for scope names: 3-63 letters and digits.
func ValidScopeName(n string) bool {
	if len(n) < 3 || len(n) > 63 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// normalizeSource accepts ARM's spellings (the scope API writes
// Microsoft.KeyVault, the account API Microsoft.Keyvault).
func normalizeSource(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", strings.ToLower(SourceStorage):
		return SourceStorage, nil
	case strings.ToLower(SourceKeyVault):
		return SourceKeyVault, nil
	}
	return "", invalid("keySource %q: want Microsoft.Storage or Microsoft.Keyvault", s)
}

func (k *KeyVaultKey) check() error {
	if k == nil || k.VaultURI == "" || k.Name == "" {
		return invalid("a Microsoft.Keyvault key source needs keyvaulturi and keyname")
	}
	return nil
}

// ParseKeyURI reads a scope's keyUri, https://{vault}/keys/{name}[/{version}].
func ParseKeyURI(uri string) (*KeyVaultKey, error) {
	base, rest, ok := strings.Cut(uri, "/keys/")
	if !ok || base == "" {
		return nil, invalid("keyUri %q: want https://{vault}/keys/{name}[/{version}]", uri)
	}
	name, version, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	if name == "" || strings.Contains(version, "/") {
		return nil, invalid("keyUri %q: want https://{vault}/keys/{name}[/{version}]", uri)
	}
	return &KeyVaultKey{VaultURI: base, Name: name, Version: version}, nil
}

// URI is the key's id as a scope reports it.
func (k *KeyVaultKey) URI() string {
	u := strings.TrimSuffix(k.VaultURI, "/") + "/keys/" + k.Name
	if k.Version != "" {
		u += "/" + k.Version
	}
	return u
}
