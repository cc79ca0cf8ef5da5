package mgmt

import (
	"net/http"
	"time"

	"github.com/atrest/atrest/internal/account"
)

// scopeJSON is Microsoft.Storage/storageAccounts/encryptionScopes.
type scopeJSON struct {
	ID         string         `json:"id,omitempty"`
	Name       string         `json:"name,omitempty"`
	Type       string         `json:"type,omitempty"`
	Properties scopePropsJSON `json:"properties"`
}

type scopePropsJSON struct {
	Source                          string             `json:"source,omitempty"`
	State                           string             `json:"state,omitempty"`
	CreationTime                    string             `json:"creationTime,omitempty"`
	LastModifiedTime                string             `json:"lastModifiedTime,omitempty"`
	KeyVaultProperties              *scopeKeyVaultJSON `json:"keyVaultProperties,omitempty"`
	RequireInfrastructureEncryption *bool              `json:"requireInfrastructureEncryption,omitempty"`
}

type scopeKeyVaultJSON struct {
	KeyURI                        string `json:"keyUri,omitempty"`
	CurrentVersionedKeyIdentifier string `json:"currentVersionedKeyIdentifier,omitempty"`
}

func (a *API) scopeView(acct account.Account, s account.Scope) scopeJSON {
	infra := s.RequireInfrastructureEncryption
	v := scopeJSON{ID: a.accountID(acct) + "/encryptionScopes/" + s.Name, Name: s.Name,
		Type: "Microsoft.Storage/storageAccounts/encryptionScopes",
		Properties: scopePropsJSON{Source: s.Source, State: s.State, CreationTime: s.Created.Format(time.RFC3339Nano),
			LastModifiedTime: s.Modified.Format(time.RFC3339Nano), RequireInfrastructureEncryption: &infra}}
	if s.KeyVault != nil {
		v.Properties.KeyVaultProperties = &scopeKeyVaultJSON{KeyURI: s.KeyVault.URI()}
	}
	return v
}

func (a *API) listScopes(r *request) (int, any, error) {
	acct, err := a.loadAccount(r)
	if err != nil {
		return 0, nil, err
	}
	out := []scopeJSON{}
	for _, s := range a.d.Accounts.ListScopes(acct.Name) {
		out = append(out, a.scopeView(acct, s))
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

func (a *API) getScope(r *request) (int, any, error) {
	acct, err := a.loadAccount(r)
	if err != nil {
		return 0, nil, err
	}
	s, err := a.d.Accounts.GetScope(acct.Name, r.vars["scopeName"])
	if err != nil {
		return 0, nil, fromRegistry(err, "EncryptionScopeNotFound")
	}
	return http.StatusOK, a.scopeView(acct, s), nil
}

func (a *API) putScope(r *request) (int, any, error) { return a.writeScope(r, true) }

func (a *API) patchScope(r *request) (int, any, error) { return a.writeScope(r, false) }

// writeScope creates or replaces (PUT) or changes (PATCH) a scope.
func (a *API) writeScope(r *request, put bool) (int, any, error) {
	acct, err := a.loadAccount(r)
	if err != nil {
		return 0, nil, err
	}
	var in scopeJSON
	if err := decode(r.body, &in); err != nil {
		return 0, nil, err
	}
	s, keyChanged, err := a.d.Accounts.PutScope(acct.Name, r.vars["scopeName"], put, func(s *account.Scope) error {
		pr := in.Properties
		if pr.Source != "" {
			s.Source = pr.Source
		}
		if pr.State != "" {
			s.State = pr.State
		}
		if pr.RequireInfrastructureEncryption != nil {
			s.RequireInfrastructureEncryption = *pr.RequireInfrastructureEncryption
		}
		if pr.KeyVaultProperties != nil && pr.KeyVaultProperties.KeyURI != "" {
			k, err := account.ParseKeyURI(pr.KeyVaultProperties.KeyURI)
			if err != nil {
				return err
			}
			s.KeyVault = k
		}
		return nil
	})
	if err != nil {
		return 0, nil, fromRegistry(err, "EncryptionScopeNotFound")
	}
	if keyChanged && a.d.KeyChanged != nil {
		a.d.KeyChanged(acct.Name)
	}
	return http.StatusOK, a.scopeView(acct, s), nil
}
