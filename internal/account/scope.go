package account

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/sse"
)

// Scopes cannot be deleted, only disabled (as in Azure): a scope's name
// stays bound to the key its blobs were written under.

func scopeKey(acct, name string) []byte {
	return []byte(prefixScope + acct + "\x00" + strings.ToLower(name))
}

// scopeOwner is a scope's owner name for its KEKs.
func scopeOwner(acct, name string) string { return "scope/" + acct + "/" + strings.ToLower(name) }

// ScopeRef is the service-managed KEK reference of a Microsoft.Storage
// scope.
func ScopeRef(acct, name string) string { return scopeOwner(acct, name) }

// GetScope returns a scope.
func (r *Registry) GetScope(acct, name string) (Scope, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := r.scopes[acct+"/"+strings.ToLower(name)]
	if s == nil {
		return Scope{}, fmt.Errorf("%w: encryption scope %q of account %q", ErrNotFound, name, acct)
	}
	return *s, nil
}

// ListScopes returns an account's scopes, by name.
func (r *Registry) ListScopes(acct string) []Scope {
	r.mu.RLock()
	var out []Scope
	for _, s := range r.scopes {
		if s.Account == acct {
			out = append(out, *s)
		}
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PutScope creates a scope, or changes one with fn applied to its current
// settings (create passes the zero Scope). The key source may change; a
// scope's requireInfrastructureEncryption may not.
func (r *Registry) PutScope(acct, name string, create bool, fn func(s *Scope) error) (Scope, bool, error) {
	a, err := r.Get(acct)
	if err != nil {
		return Scope{}, false, err
	}
	if !ValidScopeName(name) {
		return Scope{}, false, invalid("encryption scope name %q: use 3-63 letters and digits", name)
	}
	old, err := r.GetScope(acct, name)
	exists := err == nil
	if !exists && !create {
		return Scope{}, false, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	s := old
	if !exists {
		s = Scope{Account: acct, Name: strings.ToLower(name), Source: SourceStorage, State: StateEnabled, Created: now}
	}
	if old.KeyVault != nil {
		kv := *old.KeyVault
		s.KeyVault = &kv
	}
	if err := fn(&s); err != nil {
		return Scope{}, false, err
	}
	s.Account, s.Name, s.Created, s.Modified = acct, strings.ToLower(name), old.Created, now
	if !exists {
		s.Created = now
	} else if s.RequireInfrastructureEncryption != old.RequireInfrastructureEncryption {
		return Scope{}, false, fmt.Errorf("%w: requireInfrastructureEncryption is fixed when a scope is created", ErrConflict)
	}
	switch strings.ToLower(s.State) {
	case "", "enabled":
		s.State = StateEnabled
	case "disabled":
		s.State = StateDisabled
	default:
		return Scope{}, false, invalid("state %q: want Enabled or Disabled", s.State)
	}
	src, err := normalizeSource(s.Source)
	if err != nil {
		return Scope{}, false, err
	}
	if src == SourceKeyVault {
		s.Source = "Microsoft.KeyVault"
		if err := r.useCustomerKey(&a, scopeOwner(acct, name), s.KeyVault); err != nil {
			return Scope{}, false, err
		}
	} else {
		s.Source, s.KeyVault = SourceStorage, nil
	}
	b, _ := json.Marshal(s)
	if err := r.d.DB.Update(func(tx *sse.Tx) error { return tx.Put(scopeKey(acct, name), b, r.kek) }); err != nil {
		return Scope{}, false, err
	}
	r.mu.Lock()
	r.scopes[acct+"/"+s.Name] = &s
	r.mu.Unlock()
	keyChanged := exists && (old.Source != s.Source || (old.KeyVault != nil && s.KeyVault != nil && *old.KeyVault != *s.KeyVault))
	return s, keyChanged, nil
}
