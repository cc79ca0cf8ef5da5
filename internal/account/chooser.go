package account

import (
	"strings"

	"github.com/atrest/atrest/internal/sse"
)

// AccountKEK is the KEK an account's new objects are sealed under: the
// account's key model, inside the infrastructure layer when the account
// requires it. Accounts unknown here (none reach the services) use their
// service-managed key.
func (r *Registry) AccountKEK(acct string) (sse.KEK, error) {
	r.mu.RLock()
	e := r.accts[acct]
	r.mu.RUnlock()
	if e == nil {
		return r.d.Keys.ServiceKEK(sse.ServiceRef(acct))
	}
	var inner sse.KEK
	var err error
	if e.Encryption.KeySource == SourceKeyVault && e.Encryption.KeyVault != nil {
		inner, err = r.customerKEK(&e.Account, "account/"+acct, *e.Encryption.KeyVault)
	} else {
		inner, err = r.d.Keys.ServiceKEK(sse.ServiceRef(acct))
	}
	if err != nil {
		return nil, err
	}
	return r.layer(acct, inner, e.Encryption.RequireInfrastructureEncryption)
}

// IndexKEK is the KEK of an account's index records: its service-managed
// key, inside the infrastructure layer when the account requires it.
func (r *Registry) IndexKEK(acct string) (sse.KEK, error) {
	r.mu.RLock()
	e := r.accts[acct]
	r.mu.RUnlock()
	inner, err := r.d.Keys.ServiceKEK(sse.ServiceRef(acct))
	if err != nil || e == nil {
		return inner, err
	}
	return r.layer(acct, inner, e.Encryption.RequireInfrastructureEncryption)
}

// customerKEK is an owner's KEK under a customer-managed key, used as the
// account's key identity.
func (r *Registry) customerKEK(a *Account, owner string, k KeyVaultKey) (sse.KEK, error) {
	principal, err := a.keyPrincipal()
	if err != nil {
		return nil, &sse.KeyError{Code: sse.CodeTokenNotAcquired, Reason: err.Error()}
	}
	return r.d.Customer.KEK(owner, principal, k)
}

func (r *Registry) layer(acct string, inner sse.KEK, infra bool) (sse.KEK, error) {
	if !infra {
		return inner, nil
	}
	ik, err := r.d.Keys.InfraKEK(sse.InfraRef(acct))
	if err != nil {
		return nil, err
	}
	return sse.Layered(inner, ik), nil
}

// ScopeKEK is the KEK of an enabled scope (the Blob service's Scopes).
func (r *Registry) ScopeKEK(acct, name string) (sse.KEK, bool, bool, error) {
	r.mu.RLock()
	s := r.scopes[acct+"/"+strings.ToLower(name)]
	e := r.accts[acct]
	r.mu.RUnlock()
	if s == nil || e == nil {
		return nil, false, false, nil
	}
	if s.State != StateEnabled {
		return nil, true, false, nil
	}
	var inner sse.KEK
	var err error
	if s.Source != SourceStorage && s.KeyVault != nil {
		inner, err = r.customerKEK(&e.Account, scopeOwner(acct, name), *s.KeyVault)
	} else {
		inner, err = r.d.Keys.ServiceKEK(ScopeRef(acct, name))
	}
	if err != nil {
		return nil, true, true, err
	}
	kek, err := r.layer(acct, inner, s.RequireInfrastructureEncryption || e.Encryption.RequireInfrastructureEncryption)
	return kek, true, true, err
}

// ScopeState reports whether a scope exists and is enabled.
func (r *Registry) ScopeState(acct, name string) (bool, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := r.scopes[acct+"/"+strings.ToLower(name)]
	if s == nil {
		return false, false
	}
	return true, s.State == StateEnabled
}
