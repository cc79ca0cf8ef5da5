package account

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
)

// KEKRef is the service-managed KEK that seals the registry's records.
const KEKRef = "accounts/registry"

const (
	prefixAccount = "acct\x00a\x00"
	prefixScope   = "acct\x00s\x00"
)

// Principals creates the managed identities of accounts and the
// user-assigned identities.
type Principals interface {
	NewManagedIdentity(name string) (objectID, clientID string, err error)
	DeleteManagedIdentity(objectID string) error
	Tenant() string
}

// KeySource holds customer-managed keys. An owner is an account
// ("account/{name}") or a scope ("scope/{account}/{name}"); principal is
// the account identity's object id, on whose behalf the key is used.
type KeySource interface {
	// KEK is the owner's current KEK under key k.
	KEK(owner, principal string, k KeyVaultKey) (sse.KEK, error)
	// Use makes k the owner's key (checking that principal can wrap and
	// unwrap with it) and returns the KEK new objects are sealed under.
	Use(owner, principal string, k KeyVaultKey) (sse.KEK, error)
}

// Deps are what the registry is built on.
type Deps struct {
	DB         *sse.DB
	Keys       *sse.Keyring
	BuiltIn    edge.Accounts // accounts from the configuration
	Principals Principals
	Customer   KeySource // nil: Microsoft.Keyvault is refused
	Log        *slog.Logger
}

// Registry keeps accounts and scopes, sealed in the DB and mirrored in
// memory (every change goes through it).
type Registry struct {
	d   Deps
	kek sse.KEK

	mu     sync.RWMutex
	accts  map[string]*entry
	scopes map[string]*Scope        // account + "/" + name
	uids   map[string]*UserIdentity // group + "/" + name, lower case
	idMu   sync.Mutex               // serializes user-assigned identity changes
}

type entry struct {
	Account
	keys []secret.Key // shared keys; from the configuration for built-ins
	edge *edge.Account
}

// record is what is stored: settings, and the keys of created accounts.
type record struct {
	Account
	Keys [][]byte `json:"keys,omitempty"`
}

// Open loads the registry and installs it as the keyring's chooser.
func Open(d Deps) (*Registry, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	kek, err := d.Keys.ServiceKEK(KEKRef)
	if err != nil {
		return nil, err
	}
	r := &Registry{d: d, kek: kek, accts: map[string]*entry{}, scopes: map[string]*Scope{}, uids: map[string]*UserIdentity{}}
	for name, a := range d.BuiltIn {
		e := &entry{Account: Account{Name: name, Kind: "StorageV2", SKU: "Standard_LRS", Location: "local",
			ResourceGroup: "atrest", BuiltIn: true, Encryption: Encryption{KeySource: SourceStorage}}, keys: a.Keys}
		e.edge = e.edgeAccount()
		r.accts[name] = e
	}
	err = d.DB.View(func(tx *sse.Tx) error {
		if err := tx.Scan([]byte(prefixAccount), nil, func(_, v []byte) error {
			var rec record
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			e := &entry{Account: rec.Account}
			if old, ok := r.accts[rec.Name]; ok && rec.BuiltIn {
				e.keys = old.keys
			} else if rec.BuiltIn {
				return nil // a built-in account no longer configured
			} else {
				for _, k := range rec.Keys {
					e.keys = append(e.keys, secret.New(k))
				}
			}
			e.edge = e.edgeAccount()
			r.accts[rec.Name] = e
			return nil
		}); err != nil {
			return err
		}
		if err := r.loadUserIdentities(tx); err != nil {
			return err
		}
		return tx.Scan([]byte(prefixScope), nil, func(_, v []byte) error {
			var s Scope
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			r.scopes[s.Account+"/"+s.Name] = &s
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	d.Keys.SetChooser(r)
	return r, nil
}

// Find is the data plane's account lookup.
func (r *Registry) Find(name string) *edge.Account {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if e := r.accts[name]; e != nil {
		return e.edge
	}
	return nil
}

// Get returns an account.
func (r *Registry) Get(name string) (Account, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e := r.accts[name]
	if e == nil {
		return Account{}, fmt.Errorf("%w: account %q", ErrNotFound, name)
	}
	return e.Account, nil
}

// List returns every account, by name.
func (r *Registry) List() []Account {
	r.mu.RLock()
	out := make([]Account, 0, len(r.accts))
	for _, e := range r.accts {
		out = append(out, e.Account)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Create adds an account with two fresh shared keys and, when asked for, a
// system-assigned identity.
func (r *Registry) Create(a Account) (Account, error) {
	if !ValidName(a.Name) {
		return Account{}, invalid("account name %q: use 3-24 lower-case letters and digits", a.Name)
	}
	if _, err := r.Get(a.Name); err == nil {
		return Account{}, fmt.Errorf("%w: account %q", ErrExists, a.Name)
	}
	a.BuiltIn = false
	a.Created = time.Now().UTC().Truncate(time.Second)
	if a.Kind == "" {
		a.Kind = "StorageV2"
	}
	if a.SKU == "" {
		a.SKU = "Standard_LRS"
	}
	src, err := normalizeSource(a.Encryption.KeySource)
	if err != nil {
		return Account{}, err
	}
	a.Encryption.KeySource = src
	if err := a.Access.check(); err != nil {
		return Account{}, err
	}
	if err := r.setIdentity(&a, a.Identity); err != nil {
		return Account{}, err
	}
	a.canonicalKeyIdentity()
	if src == SourceKeyVault {
		if err := r.useCustomerKey(&a, "account/"+a.Name, a.Encryption.KeyVault); err != nil {
			return Account{}, err
		}
	} else {
		a.Encryption.KeyVault = nil
	}
	e := &entry{Account: a}
	for range 2 {
		k, err := newAccountKey()
		if err != nil {
			return Account{}, err
		}
		e.keys = append(e.keys, k)
	}
	e.edge = e.edgeAccount()
	if err := r.store(e); err != nil {
		return Account{}, err
	}
	r.mu.Lock()
	r.accts[a.Name] = e
	r.mu.Unlock()
	return a, nil
}

// Change is an accepted update: the account before and after.
type Change struct {
	Old, New Account
}

// KeyChanged reports whether an update changed the KEK new data is sealed
// under (so existing DEKs should be re-wrapped).
func (c Change) KeyChanged() bool {
	o, n := c.Old.Encryption, c.New.Encryption
	if o.KeySource != n.KeySource {
		return true
	}
	return o.KeyVault != nil && n.KeyVault != nil && *o.KeyVault != *n.KeyVault
}

// Update applies fn to a copy of the account; identity, key source and
// key are validated, and requireInfrastructureEncryption may not change.
func (r *Registry) Update(name string, fn func(a *Account) error) (Change, error) {
	old, err := r.Get(name)
	if err != nil {
		return Change{}, err
	}
	a := old
	a.Tags = cloneMap(old.Tags)
	a.Identity = cloneIdentity(old.Identity)
	if old.Encryption.KeyVault != nil {
		kv := *old.Encryption.KeyVault
		a.Encryption.KeyVault = &kv
	}
	if err := fn(&a); err != nil {
		return Change{}, err
	}
	a.Name, a.Created, a.BuiltIn = old.Name, old.Created, old.BuiltIn
	if a.Encryption.RequireInfrastructureEncryption != old.Encryption.RequireInfrastructureEncryption {
		return Change{}, fmt.Errorf("%w: requireInfrastructureEncryption is fixed when an account is created", ErrConflict)
	}
	if a.Encryption.KeySource, err = normalizeSource(a.Encryption.KeySource); err != nil {
		return Change{}, err
	}
	if err := a.Access.check(); err != nil {
		return Change{}, err
	}
	if err := r.setIdentity(&a, a.Identity); err != nil {
		return Change{}, err
	}
	a.canonicalKeyIdentity()
	if err := r.followKeyPrincipal(old, a); err != nil {
		return Change{}, err
	}
	ch := Change{Old: old, New: a}
	if a.Encryption.KeySource == SourceKeyVault {
		if err := r.useCustomerKey(&a, "account/"+a.Name, a.Encryption.KeyVault); err != nil {
			return Change{}, err
		}
	} else {
		a.Encryption.KeyVault = nil
	}
	ch.New = a
	if ch.KeyChanged() {
		a.Encryption.KeyLastChanged = time.Now().UTC().Truncate(time.Second)
		ch.New = a
	}
	r.mu.RLock()
	e := *r.accts[name]
	r.mu.RUnlock()
	e.Account = a
	e.edge = e.edgeAccount() // a new value: requests in flight keep the one they read
	if err := r.store(&e); err != nil {
		return Change{}, err
	}
	r.mu.Lock()
	r.accts[name] = &e
	r.mu.Unlock()
	return ch, nil
}

// followKeyPrincipal moves the account's customer-managed scopes to the
// identity its keys are now used as (the account's own key moves when it
// is set again, right after).
func (r *Registry) followKeyPrincipal(old, a Account) error {
	was, _ := old.keyPrincipal()
	now, err := a.keyPrincipal()
	if err != nil {
		if a.Encryption.Identity != "" || a.Encryption.KeySource == SourceKeyVault || len(r.vaultScopes(a.Name)) > 0 {
			return err
		}
		return nil
	}
	if was == now {
		return nil
	}
	for _, s := range r.vaultScopes(a.Name) {
		if _, err := r.d.Customer.Use(scopeOwner(a.Name, s.Name), now, *s.KeyVault); err != nil {
			return fmt.Errorf("%w: the identity cannot use the key of scope %s (%s): %v", ErrInvalid, s.Name, s.KeyVault.URI(), err)
		}
	}
	return nil
}

// vaultScopes are an account's scopes under customer-managed keys.
func (r *Registry) vaultScopes(acct string) []Scope {
	var out []Scope
	for _, s := range r.ListScopes(acct) {
		if s.KeyVault != nil && s.Source != SourceStorage {
			out = append(out, s)
		}
	}
	return out
}

// useCustomerKey checks a customer-managed key and makes it the owner's.
func (r *Registry) useCustomerKey(a *Account, owner string, k *KeyVaultKey) error {
	if err := k.check(); err != nil {
		return err
	}
	principal, err := a.keyPrincipal()
	if err != nil {
		return err
	}
	if r.d.Customer == nil {
		return invalid("customer-managed keys are not available")
	}
	if _, err := r.d.Customer.Use(owner, principal, *k); err != nil {
		return fmt.Errorf("%w: the account identity cannot use key %s: %v", ErrInvalid, k.URI(), err)
	}
	return nil
}

// edgeAccount is the data plane's view of the entry.
func (e *entry) edgeAccount() *edge.Account {
	return &edge.Account{Name: e.Name, Keys: e.keys, Switches: e.Access.switches()}
}

func (r *Registry) store(e *entry) error {
	rec := record{Account: e.Account}
	if !e.BuiltIn {
		for _, k := range e.keys {
			rec.Keys = append(rec.Keys, k.Bytes())
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	defer clear(b)
	return r.d.DB.Update(func(tx *sse.Tx) error { return tx.Put([]byte(prefixAccount+e.Name), b, r.kek) })
}

// newAccountKey is a 512-bit shared key, as Azure issues them.
func newAccountKey() (secret.Key, error) {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		return secret.Key{}, err
	}
	k := secret.New(b)
	clear(b)
	return k, nil
}

// SharedKey is one of an account's keys, for listKeys.
type SharedKey struct {
	KeyName     string `json:"keyName"`
	Value       string `json:"value"`
	Permissions string `json:"permissions"`
}

// Keys lists an account's shared keys (key1, key2).
func (r *Registry) Keys(name string) ([]SharedKey, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e := r.accts[name]
	if e == nil {
		return nil, fmt.Errorf("%w: account %q", ErrNotFound, name)
	}
	var out []SharedKey
	for i, k := range e.keys {
		out = append(out, SharedKey{KeyName: fmt.Sprintf("key%d", i+1), Value: base64.StdEncoding.EncodeToString(k.Bytes()), Permissions: "FULL"})
	}
	return out, nil
}

// RegenerateKey replaces key1 or key2 of a created account.
func (r *Registry) RegenerateKey(name, keyName string) ([]SharedKey, error) {
	r.mu.Lock()
	e := r.accts[name]
	r.mu.Unlock()
	if e == nil {
		return nil, fmt.Errorf("%w: account %q", ErrNotFound, name)
	}
	if e.BuiltIn {
		return nil, fmt.Errorf("%w: the keys of a configured account come from the configuration", ErrConflict)
	}
	i := map[string]int{"key1": 0, "key2": 1}
	idx, ok := i[strings.ToLower(keyName)]
	if !ok {
		return nil, invalid("keyName %q: want key1 or key2", keyName)
	}
	k, err := newAccountKey()
	if err != nil {
		return nil, err
	}
	next := *e
	next.keys = append([]secret.Key(nil), e.keys...)
	next.keys[idx] = k
	next.edge = next.edgeAccount()
	if err := r.store(&next); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.accts[name] = &next
	r.mu.Unlock()
	return r.Keys(name)
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// IsNotFound reports a registry miss.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
