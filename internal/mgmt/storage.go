package mgmt

import (
	"net/http"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/account"
)

func (a *API) subscriptionJSON() map[string]any {
	sub := a.Subscription()
	return map[string]any{"id": "/subscriptions/" + sub, "subscriptionId": sub, "tenantId": a.d.Identity.Tenant(),
		"displayName": "atrest-local", "state": "Enabled",
		"subscriptionPolicies": map[string]any{"locationPlacementId": "Public_2014-09-01", "quotaId": "atrest", "spendingLimit": "Off"},
		"authorizationSource":  "RoleBased"}
}

func (a *API) listSubscriptions(r *request) (int, any, error) {
	out := []any{}
	if a.hasAnyRole(r.caller) {
		out = append(out, a.subscriptionJSON())
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

func (a *API) getSubscription(r *request) (int, any, error) {
	return http.StatusOK, a.subscriptionJSON(), nil
}

// Resource groups are names only: any group exists, and holds the
// accounts and vaults created under it.
func (a *API) groupJSON(rg string) map[string]any {
	return map[string]any{"id": "/subscriptions/" + a.Subscription() + "/resourceGroups/" + rg, "name": rg,
		"type": "Microsoft.Resources/resourceGroups", "location": "local", "properties": map[string]string{"provisioningState": "Succeeded"}}
}

func (a *API) listGroups(r *request) (int, any, error) {
	seen := map[string]bool{"atrest": true}
	for _, acct := range a.d.Accounts.List() {
		seen[acct.ResourceGroup] = true
	}
	out := []any{}
	for rg := range seen {
		out = append(out, a.groupJSON(rg))
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

func (a *API) getGroup(r *request) (int, any, error) {
	return http.StatusOK, a.groupJSON(r.vars["rg"]), nil
}

// accountJSON is Microsoft.Storage/storageAccounts as ARM renders it.
type accountJSON struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Location   string            `json:"location,omitempty"`
	Kind       string            `json:"kind,omitempty"`
	SKU        *skuJSON          `json:"sku,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Identity   *identityJSON     `json:"identity,omitempty"`
	Properties *accountProps     `json:"properties,omitempty"`
}

type skuJSON struct {
	Name string `json:"name"`
	Tier string `json:"tier,omitempty"`
}

type identityJSON struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"`
	TenantID    string `json:"tenantId,omitempty"`
	// by resource id; a null value (removal) leaves an identity out
	UserAssignedIdentities map[string]*userAssignedJSON `json:"userAssignedIdentities,omitempty"`
}

type userAssignedJSON struct {
	PrincipalID string `json:"principalId,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
}

// encryptionIdentityJSON names the user-assigned identity customer-managed
// keys are used as; "" means the system-assigned one.
type encryptionIdentityJSON struct {
	UserAssignedIdentity *string `json:"userAssignedIdentity,omitempty"`
}

type accountProps struct {
	ProvisioningState string            `json:"provisioningState,omitempty"`
	CreationTime      string            `json:"creationTime,omitempty"`
	PrimaryEndpoints  map[string]string `json:"primaryEndpoints,omitempty"`
	PrimaryLocation   string            `json:"primaryLocation,omitempty"`
	StatusOfPrimary   string            `json:"statusOfPrimary,omitempty"`
	Encryption        *encryptionJSON   `json:"encryption,omitempty"`
	SupportsHTTPS     *bool             `json:"supportsHttpsTrafficOnly,omitempty"`
	AllowSharedKey    *bool             `json:"allowSharedKeyAccess,omitempty"`
	AllowBlobPublic   *bool             `json:"allowBlobPublicAccess,omitempty"`
	MinimumTLSVersion string            `json:"minimumTlsVersion,omitempty"`
}

type encryptionJSON struct {
	KeySource                       string                  `json:"keySource,omitempty"`
	KeyVaultProperties              *keyVaultPropsJSON      `json:"keyvaultproperties,omitempty"`
	RequireInfrastructureEncryption *bool                   `json:"requireInfrastructureEncryption,omitempty"`
	Services                        map[string]any          `json:"services,omitempty"`
	Identity                        *encryptionIdentityJSON `json:"identity,omitempty"`
}

type keyVaultPropsJSON struct {
	KeyVaultURI                   string `json:"keyvaulturi,omitempty"`
	KeyName                       string `json:"keyname,omitempty"`
	KeyVersion                    string `json:"keyversion,omitempty"`
	CurrentVersionedKeyIdentifier string `json:"currentVersionedKeyIdentifier,omitempty"`
	LastKeyRotationTimestamp      string `json:"lastKeyRotationTimestamp,omitempty"`
}

func (a *API) accountID(acct account.Account) string {
	return "/subscriptions/" + a.Subscription() + "/resourceGroups/" + acct.ResourceGroup + "/providers/Microsoft.Storage/storageAccounts/" + acct.Name
}

func (a *API) accountView(acct account.Account) accountJSON {
	ac := acct.Access
	https, sharedKey, public := ac.HTTPSOnly, !ac.DenySharedKey, !ac.DenyPublicAccess
	infra := acct.Encryption.RequireInfrastructureEncryption
	enc := &encryptionJSON{KeySource: acct.Encryption.KeySource, RequireInfrastructureEncryption: &infra,
		Services: map[string]any{}}
	keyType := "Account"
	for _, svc := range []string{"blob", "queue", "table"} {
		enc.Services[svc] = map[string]any{"enabled": true, "keyType": keyType}
	}
	if k := acct.Encryption.KeyVault; k != nil && acct.Encryption.KeySource == account.SourceKeyVault {
		kv := &keyVaultPropsJSON{KeyVaultURI: k.VaultURI, KeyName: k.Name, KeyVersion: k.Version}
		if a.d.CurrentKeyVersion != nil {
			if v := a.d.CurrentKeyVersion("account/" + acct.Name); v != "" {
				kv.CurrentVersionedKeyIdentifier = strings.TrimSuffix(k.VaultURI, "/") + "/keys/" + k.Name + "/" + v
			}
		}
		if !acct.Encryption.KeyLastChanged.IsZero() {
			kv.LastKeyRotationTimestamp = acct.Encryption.KeyLastChanged.Format(time.RFC3339)
		}
		enc.KeyVaultProperties = kv
	}
	v := accountJSON{ID: a.accountID(acct), Name: acct.Name, Type: "Microsoft.Storage/storageAccounts", Location: acct.Location,
		Kind: acct.Kind, SKU: &skuJSON{Name: acct.SKU, Tier: "Standard"}, Tags: acct.Tags,
		Properties: &accountProps{ProvisioningState: "Succeeded", CreationTime: acct.Created.Format(time.RFC3339Nano),
			PrimaryLocation: acct.Location, StatusOfPrimary: "available", Encryption: enc, SupportsHTTPS: &https,
			AllowSharedKey: &sharedKey, AllowBlobPublic: &public, MinimumTLSVersion: ac.MinTLSVersion()}}
	if acct.Created.IsZero() {
		v.Properties.CreationTime = ""
	}
	if a.d.Endpoints != nil {
		ep := a.d.Endpoints()
		v.Properties.PrimaryEndpoints = map[string]string{"blob": ep.Blob + "/" + acct.Name + "/",
			"queue": ep.Queue + "/" + acct.Name + "/", "table": ep.Table + "/" + acct.Name + "/"}
	}
	if ki := acct.Encryption.Identity; ki != "" {
		enc.Identity = &encryptionIdentityJSON{UserAssignedIdentity: &ki}
	}
	if id := acct.Identity; id != nil {
		v.Identity = &identityJSON{Type: id.Type, PrincipalID: id.PrincipalID, TenantID: id.TenantID}
		if len(id.UserAssigned) > 0 {
			v.Identity.UserAssignedIdentities = map[string]*userAssignedJSON{}
			for rid, u := range id.UserAssigned {
				v.Identity.UserAssignedIdentities[rid] = &userAssignedJSON{PrincipalID: u.PrincipalID, ClientID: u.ClientID}
			}
		}
	} else {
		v.Identity = &identityJSON{Type: "None"}
	}
	return v
}

func (a *API) listAccounts(r *request) (int, any, error) {
	out := []accountJSON{}
	for _, acct := range a.d.Accounts.List() {
		if rg := r.vars["rg"]; rg != "" && !strings.EqualFold(rg, acct.ResourceGroup) {
			continue
		}
		out = append(out, a.accountView(acct))
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

// getAccount answers for an account of the request's group.
func (a *API) loadAccount(r *request) (account.Account, error) {
	acct, err := a.d.Accounts.Get(r.vars["name"])
	if err == nil && !strings.EqualFold(acct.ResourceGroup, r.vars["rg"]) {
		err = account.ErrNotFound
	}
	if err != nil {
		return account.Account{}, errorf(http.StatusNotFound, "ResourceNotFound",
			"The Resource 'Microsoft.Storage/storageAccounts/%s' under resource group '%s' was not found.", r.vars["name"], r.vars["rg"])
	}
	return acct, nil
}

func (a *API) getAccount(r *request) (int, any, error) {
	acct, err := a.loadAccount(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.accountView(acct), nil
}

// applyAccess copies requested access switches onto an account.
func applyAccess(dst *account.Access, in *accountProps) {
	if in.SupportsHTTPS != nil {
		dst.HTTPSOnly = *in.SupportsHTTPS
	}
	if in.AllowSharedKey != nil {
		dst.DenySharedKey = !*in.AllowSharedKey
	}
	if in.AllowBlobPublic != nil {
		dst.DenyPublicAccess = !*in.AllowBlobPublic
	}
	if in.MinimumTLSVersion != "" {
		dst.MinTLS = in.MinimumTLSVersion
	}
}

// applyEncryption copies requested encryption settings onto an account.
func applyEncryption(dst *account.Encryption, in *encryptionJSON, creating bool) error {
	if in == nil {
		return nil
	}
	if in.KeySource != "" {
		dst.KeySource = in.KeySource
	}
	if in.RequireInfrastructureEncryption != nil {
		if !creating && *in.RequireInfrastructureEncryption != dst.RequireInfrastructureEncryption {
			return errorf(http.StatusConflict, "Conflict", "requireInfrastructureEncryption can only be set when the account is created.")
		}
		dst.RequireInfrastructureEncryption = *in.RequireInfrastructureEncryption
	}
	if kv := in.KeyVaultProperties; kv != nil {
		dst.KeyVault = &account.KeyVaultKey{VaultURI: kv.KeyVaultURI, Name: kv.KeyName, Version: kv.KeyVersion}
	}
	if in.Identity != nil && in.Identity.UserAssignedIdentity != nil {
		dst.Identity = *in.Identity.UserAssignedIdentity
	}
	return nil
}

// identityIn is the identity a request asks for.
func identityIn(in *identityJSON) *account.Identity {
	id := &account.Identity{Type: in.Type}
	if in.UserAssignedIdentities != nil {
		id.UserAssigned = map[string]account.UserAssigned{}
		for rid, v := range in.UserAssignedIdentities {
			if v != nil {
				id.UserAssigned[rid] = account.UserAssigned{}
			}
		}
	}
	return id
}

func (a *API) createAccount(r *request) (int, any, error) {
	var in accountJSON
	if err := decode(r.body, &in); err != nil {
		return 0, nil, err
	}
	if cur, err := a.d.Accounts.Get(r.vars["name"]); err == nil {
		if !strings.EqualFold(cur.ResourceGroup, r.vars["rg"]) {
			return 0, nil, errorf(http.StatusConflict, "StorageAccountAlreadyTaken", "The storage account named %s is already taken.", r.vars["name"])
		}
		// PUT on an existing account updates it, as ARM does
		return a.update(r, &in)
	}
	acct := account.Account{Name: r.vars["name"], ResourceGroup: r.vars["rg"], Location: in.Location, Kind: in.Kind, Tags: in.Tags,
		Access: account.DefaultAccess()}
	if in.SKU != nil {
		acct.SKU = in.SKU.Name
	}
	if in.Identity != nil {
		acct.Identity = identityIn(in.Identity)
	}
	if in.Properties != nil {
		applyAccess(&acct.Access, in.Properties)
		if err := applyEncryption(&acct.Encryption, in.Properties.Encryption, true); err != nil {
			return 0, nil, err
		}
	}
	created, err := a.d.Accounts.Create(acct)
	if err != nil {
		return 0, nil, fromRegistry(err, "ResourceNotFound")
	}
	return http.StatusOK, a.accountView(created), nil
}

func (a *API) updateAccount(r *request) (int, any, error) {
	if _, err := a.loadAccount(r); err != nil {
		return 0, nil, err
	}
	var in accountJSON
	if err := decode(r.body, &in); err != nil {
		return 0, nil, err
	}
	return a.update(r, &in)
}

func (a *API) update(r *request, in *accountJSON) (int, any, error) {
	ch, err := a.d.Accounts.Update(r.vars["name"], func(acct *account.Account) error {
		if in.Tags != nil {
			acct.Tags = in.Tags
		}
		if in.Identity != nil {
			acct.Identity = identityIn(in.Identity)
		}
		if in.Properties != nil {
			applyAccess(&acct.Access, in.Properties)
			return applyEncryption(&acct.Encryption, in.Properties.Encryption, false)
		}
		return nil
	})
	if err != nil {
		return 0, nil, fromRegistry(err, "ResourceNotFound")
	}
	if ch.KeyChanged() && a.d.KeyChanged != nil {
		a.d.KeyChanged(ch.New.Name)
	}
	return http.StatusOK, a.accountView(ch.New), nil
}

func (a *API) listKeys(r *request) (int, any, error) {
	if _, err := a.loadAccount(r); err != nil {
		return 0, nil, err
	}
	keys, err := a.d.Accounts.Keys(r.vars["name"])
	if err != nil {
		return 0, nil, fromRegistry(err, "ResourceNotFound")
	}
	return http.StatusOK, map[string]any{"keys": keys}, nil
}

func (a *API) regenerateKey(r *request) (int, any, error) {
	if _, err := a.loadAccount(r); err != nil {
		return 0, nil, err
	}
	var in struct {
		KeyName string `json:"keyName"`
	}
	if err := decode(r.body, &in); err != nil {
		return 0, nil, err
	}
	keys, err := a.d.Accounts.RegenerateKey(r.vars["name"], in.KeyName)
	if err != nil {
		return 0, nil, fromRegistry(err, "ResourceNotFound")
	}
	return http.StatusOK, map[string]any{"keys": keys}, nil
}

// refreshKey (atrest's own operation) makes an account with a versionless
// customer-managed key follow the key's newest version now, instead of at
// the next scheduled check; it answers the account as it then stands.
func (a *API) refreshKey(r *request) (int, any, error) {
	acct, err := a.loadAccount(r)
	if err != nil {
		return 0, nil, err
	}
	if acct.Encryption.KeySource != account.SourceKeyVault {
		return 0, nil, errorf(http.StatusConflict, "Conflict", "Account %s does not use a customer-managed key.", acct.Name)
	}
	if a.d.Refresh != nil {
		if err := a.d.Refresh(acct.Name); err != nil {
			return 0, nil, errorf(http.StatusForbidden, "KeyVaultEncryptionKeyNotFound", "The key cannot be refreshed: %v", err)
		}
	}
	if acct, err = a.d.Accounts.Get(acct.Name); err != nil {
		return 0, nil, fromRegistry(err, "ResourceNotFound")
	}
	return http.StatusOK, a.accountView(acct), nil
}
