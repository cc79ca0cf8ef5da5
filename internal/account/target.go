package account

import (
	"strings"

	"github.com/atrest/atrest/internal/sse"
)

// indexPrefixes are the index records (the Blob service's, and the Table
// service's table records), which stay under the service-managed key
// whatever the account's key model (see sse.Keyring.IndexKEK).
var indexPrefixes = []string{"c\x00", "b\x00", "u\x00", "s\x00", "t\x00"}

// RewrapTarget is the rewrap job's map of an account's objects to the
// KEKs that should hold them now: index records and extent registrations
// under the service-managed key's current version, the account's other
// records and its content under its key model's current KEK, a scope's
// objects under the scope's current KEK. Objects of other accounts and
// customer-provided keys are left alone.
func (r *Registry) RewrapTarget(acct string) (sse.Target, error) {
	index, err := r.d.Keys.ServiceKEK(sse.ServiceRef(acct))
	if err != nil {
		return nil, err
	}
	content, err := r.AccountKEK(acct)
	if err != nil {
		return nil, err
	}
	scopes := map[string]sse.KEK{}
	for _, s := range r.ListScopes(acct) {
		kek, found, enabled, err := r.ScopeKEK(acct, s.Name)
		if err != nil {
			return nil, err
		}
		if found && enabled {
			scopes[scopeOwner(acct, s.Name)] = kek
		}
	}
	owner := "account/" + acct
	return func(kind string, key []byte, h *sse.Header) (sse.KEK, bool) {
		switch {
		case h.Source == sse.SourceCustomer:
			return nil, false
		case h.KeyRef == sse.ServiceRef(acct) || ((h.Source == sse.SourceVault || h.Source == sse.SourceHSM) && h.KeyRef == owner):
			if kind == sse.KindRegistration {
				return index, true
			}
			if kind == sse.KindRecord {
				for _, p := range indexPrefixes {
					if strings.HasPrefix(string(key), p+acct+"\x00") || string(key) == p+acct {
						return index, true
					}
				}
			}
			return content, true
		case strings.HasPrefix(h.KeyRef, "scope/"+acct+"/"):
			if k, ok := scopes[h.KeyRef]; ok {
				return k, true
			}
		}
		return nil, false
	}, nil
}
