package blob

import (
	"net/http"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// Encryption scopes: named keys of an account (service-managed or
// customer-managed, possibly with infrastructure encryption) that a write
// picks with x-ms-encryption-scope or inherits from its container's
// default scope. A blob keeps the scope it was written under; a disabled
// scope refuses the reads and writes of its blobs.

// Scopes finds an account's encryption scopes. The account registry
// implements it; without one, every scope is unknown.
type Scopes interface {
	// ScopeKEK returns the KEK new objects of an enabled scope are sealed
	// under. found is false for an unknown scope; enabled is false for a
	// disabled one (kek is nil then).
	ScopeKEK(account, name string) (kek sse.KEK, found, enabled bool, err error)
	// ScopeState reports whether a scope exists and is enabled.
	ScopeState(account, name string) (found, enabled bool)
}

// accountScope is the name Azure gives the account's own key where a
// scope is expected.
const accountScope = "$account-encryption-key"

// Scope errors. Azure documents the situations but not these codes; the
// choices are in docs/key-models.md.
var (
	errScopeNotFound = &edge.Error{Status: http.StatusNotFound, Code: "EncryptionScopeNotFound",
		Message: "The specified encryption scope does not exist."}
	errScopeDisabled = &edge.Error{Status: http.StatusForbidden, Code: "EncryptionScopeDisabled",
		Message: "The encryption scope is disabled: its blobs can be neither read nor written."}
	errScopeOverrideDenied = &edge.Error{Status: http.StatusConflict, Code: "EncryptionScopeOverrideDenied",
		Message: "The container's default encryption scope may not be overridden."}
	errScopeMismatch = &edge.Error{Status: http.StatusConflict, Code: "EncryptionScopeMismatch",
		Message: "The encryption scope of the request does not match the scope the blob or its blocks use."}
	errCPKWithScope = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidHeaderValue",
		Message: "A customer-provided key and an encryption scope cannot be used in the same request."}
)

// SetScopes installs the account registry's encryption scopes.
func (s *Service) SetScopes(sc Scopes) { s.scopes = sc }

// scopeName reads x-ms-encryption-scope; the account key's own name means
// no scope.
func scopeName(h http.Header, name string) string {
	v := h.Get(name)
	if v == accountScope {
		return ""
	}
	return v
}

// scopeKEK is the KEK of an enabled scope, or the error Azure answers.
func (s *Service) scopeKEK(acct, name string) (sse.KEK, error) {
	if s.scopes == nil {
		return nil, errScopeNotFound
	}
	kek, found, enabled, err := s.scopes.ScopeKEK(acct, name)
	switch {
	case err != nil:
		return nil, mapStoreErr(err, nil)
	case !found:
		return nil, errScopeNotFound
	case !enabled:
		return nil, errScopeDisabled
	}
	return kek, nil
}

// checkScope refuses access to a blob whose scope is disabled (or gone).
func (s *Service) checkScope(acct, name string) error {
	if name == "" {
		return nil
	}
	if s.scopes == nil {
		return errScopeNotFound
	}
	found, enabled := s.scopes.ScopeState(acct, name)
	if !found {
		return errScopeNotFound
	}
	if !enabled {
		return errScopeDisabled
	}
	return nil
}

// matchScope checks a write's scope against the scope a blob or its staged
// blocks already use.
func matchScope(stored, given string) error {
	if stored != given {
		return errScopeMismatch
	}
	return nil
}

// containerScope validates the scope headers of Create Container.
func (s *Service) containerScope(r *edge.Request) (string, bool, error) {
	def := scopeName(r.Header, "x-ms-default-encryption-scope")
	deny := r.Header.Get("x-ms-deny-encryption-scope-override")
	if deny != "" && deny != "true" && deny != "false" {
		return "", false, edge.ErrInvalidHeaderValue.With("x-ms-deny-encryption-scope-override must be true or false.")
	}
	if def != "" {
		if _, err := s.scopeKEK(r.Account.Name, def); err != nil {
			return "", false, err
		}
	}
	return def, deny == "true", nil
}

func writeScopeHeader(h http.Header, scope string) {
	if scope != "" {
		h.Set("x-ms-encryption-scope", scope)
	}
}
