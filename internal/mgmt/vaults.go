package mgmt

import (
	"net/http"
	"strings"

	"github.com/atrest/atrest/internal/keyvault"
)

// Vaults map onto the embedded Key Vault's vaults. Soft delete is always
// on (keys are soft-deleted for the vault's retention); purge protection,
// once enabled, stays. The vault resource itself has no soft-deleted
// state: only an empty vault can be deleted.

type vaultJSON struct {
	ID         string         `json:"id,omitempty"`
	Name       string         `json:"name,omitempty"`
	Type       string         `json:"type,omitempty"`
	Location   string         `json:"location,omitempty"`
	Properties vaultPropsJSON `json:"properties"`
}

type vaultPropsJSON struct {
	TenantID                  string    `json:"tenantId,omitempty"`
	SKU                       *vaultSKU `json:"sku,omitempty"`
	VaultURI                  string    `json:"vaultUri,omitempty"`
	EnableSoftDelete          *bool     `json:"enableSoftDelete,omitempty"`
	SoftDeleteRetentionInDays int       `json:"softDeleteRetentionInDays,omitempty"`
	EnablePurgeProtection     *bool     `json:"enablePurgeProtection,omitempty"`
	EnableRbacAuthorization   *bool     `json:"enableRbacAuthorization,omitempty"`
	ProvisioningState         string    `json:"provisioningState,omitempty"`
	AccessPolicies            []any     `json:"accessPolicies"`
}

type vaultSKU struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

func (a *API) vaultView(rg string, v keyvault.Vault) vaultJSON {
	t := true
	pp := v.PurgeProtection
	out := vaultJSON{ID: "/subscriptions/" + a.Subscription() + "/resourceGroups/" + rg + "/providers/Microsoft.KeyVault/vaults/" + v.Name,
		Name: v.Name, Type: "Microsoft.KeyVault/vaults", Location: "local",
		Properties: vaultPropsJSON{TenantID: a.d.Identity.Tenant(), SKU: &vaultSKU{Family: "A", Name: "standard"},
			VaultURI: a.d.KV.VaultURL(v.Name) + "/", EnableSoftDelete: &t, SoftDeleteRetentionInDays: v.RetentionDays,
			EnablePurgeProtection: &pp, EnableRbacAuthorization: &t, ProvisioningState: "Succeeded", AccessPolicies: []any{}}}
	if !pp {
		out.Properties.EnablePurgeProtection = nil // ARM omits a purge protection never enabled
	}
	return out
}

func (a *API) listVaults(r *request) (int, any, error) {
	rg := r.vars["rg"]
	if rg == "" {
		rg = "atrest"
	}
	out := []vaultJSON{}
	for _, v := range a.d.KV.Vaults() {
		out = append(out, a.vaultView(rg, v))
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

func (a *API) getVault(r *request) (int, any, error) {
	v, ok := a.d.KV.Vault(r.vars["vault"])
	if !ok {
		return 0, nil, errorf(http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/vaults/%s' was not found.", r.vars["vault"])
	}
	return http.StatusOK, a.vaultView(r.vars["rg"], v), nil
}

func (a *API) putVault(r *request) (int, any, error) {
	var in vaultJSON
	if err := decode(r.body, &in); err != nil {
		return 0, nil, err
	}
	if _, ok := a.d.KV.Vault(r.vars["vault"]); ok {
		return a.applyVault(r, in.Properties)
	}
	if in.Properties.EnableSoftDelete != nil && !*in.Properties.EnableSoftDelete {
		return 0, nil, badRequest("Soft delete cannot be disabled: every vault here keeps deleted keys for its retention period.")
	}
	pp := in.Properties.EnablePurgeProtection != nil && *in.Properties.EnablePurgeProtection
	v, err := a.d.KV.CreateVault(r.vars["vault"], in.Properties.SoftDeleteRetentionInDays, pp)
	if err != nil {
		return 0, nil, badRequest("%v", err)
	}
	return http.StatusOK, a.vaultView(r.vars["rg"], v), nil
}

func (a *API) patchVault(r *request) (int, any, error) {
	var in vaultJSON
	if err := decode(r.body, &in); err != nil {
		return 0, nil, err
	}
	return a.applyVault(r, in.Properties)
}

// applyVault changes what can change: purge protection can be turned on.
func (a *API) applyVault(r *request, in vaultPropsJSON) (int, any, error) {
	v, ok := a.d.KV.Vault(r.vars["vault"])
	if !ok {
		return 0, nil, errorf(http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/vaults/%s' was not found.", r.vars["vault"])
	}
	if in.EnableSoftDelete != nil && !*in.EnableSoftDelete {
		return 0, nil, badRequest("Soft delete cannot be disabled.")
	}
	if in.SoftDeleteRetentionInDays != 0 && in.SoftDeleteRetentionInDays != v.RetentionDays {
		return 0, nil, badRequest("The soft-delete retention of an existing vault cannot change.")
	}
	if in.EnablePurgeProtection != nil {
		if !*in.EnablePurgeProtection && v.PurgeProtection {
			return 0, nil, badRequest("Purge protection cannot be disabled once enabled.")
		}
		if *in.EnablePurgeProtection && !v.PurgeProtection {
			var err error
			if v, err = a.d.KV.EnablePurgeProtection(v.Name); err != nil {
				return 0, nil, err
			}
		}
	}
	return http.StatusOK, a.vaultView(r.vars["rg"], v), nil
}

func (a *API) deleteVault(r *request) (int, any, error) {
	if _, ok := a.d.KV.Vault(r.vars["vault"]); !ok {
		return http.StatusNoContent, nil, nil
	}
	if err := a.d.KV.DeleteVault(r.vars["vault"]); err != nil {
		if strings.Contains(err.Error(), "still holds keys") {
			return 0, nil, errorf(http.StatusConflict, "Conflict", "%v", err)
		}
		return 0, nil, err
	}
	return http.StatusOK, nil, nil
}
