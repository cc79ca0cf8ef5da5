package mgmt

import (
	"net/http"

	"github.com/atrest/atrest/internal/account"
)

// userIdentityJSON is Microsoft.ManagedIdentity/userAssignedIdentities.
type userIdentityJSON struct {
	ID         string                `json:"id,omitempty"`
	Name       string                `json:"name,omitempty"`
	Type       string                `json:"type,omitempty"`
	Location   string                `json:"location,omitempty"`
	Tags       map[string]string     `json:"tags,omitempty"`
	Properties userIdentityPropsJSON `json:"properties"`
}

type userIdentityPropsJSON struct {
	TenantID    string `json:"tenantId,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
}

func (a *API) userIdentityView(u account.UserIdentity) userIdentityJSON {
	return userIdentityJSON{ID: a.d.Accounts.UserIdentityID(u), Name: u.Name, Type: "Microsoft.ManagedIdentity/userAssignedIdentities",
		Location: u.Location, Tags: u.Tags,
		Properties: userIdentityPropsJSON{TenantID: u.TenantID, PrincipalID: u.PrincipalID, ClientID: u.ClientID}}
}

func (a *API) listUserIdentities(r *request) (int, any, error) {
	out := []userIdentityJSON{}
	for _, u := range a.d.Accounts.ListUserIdentities(r.vars["rg"]) {
		out = append(out, a.userIdentityView(u))
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

func (a *API) getUserIdentity(r *request) (int, any, error) {
	u, err := a.d.Accounts.GetUserIdentity(r.vars["rg"], r.vars["name"])
	if err != nil {
		return 0, nil, errorf(http.StatusNotFound, "ResourceNotFound",
			"The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/%s' under resource group '%s' was not found.", r.vars["name"], r.vars["rg"])
	}
	return http.StatusOK, a.userIdentityView(u), nil
}

// putUserIdentity creates the identity (201) or updates its location and
// tags (200).
func (a *API) putUserIdentity(r *request) (int, any, error) {
	var in userIdentityJSON
	if err := decode(r.body, &in); err != nil {
		return 0, nil, err
	}
	u, created, err := a.d.Accounts.PutUserIdentity(account.UserIdentity{ResourceGroup: r.vars["rg"], Name: r.vars["name"],
		Location: in.Location, Tags: in.Tags})
	if err != nil {
		return 0, nil, fromRegistry(err, "ResourceNotFound")
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return status, a.userIdentityView(u), nil
}

// deleteUserIdentity answers 200, or 204 when there was nothing to delete.
func (a *API) deleteUserIdentity(r *request) (int, any, error) {
	existed, err := a.d.Accounts.DeleteUserIdentity(r.vars["rg"], r.vars["name"])
	if err != nil {
		return 0, nil, err
	}
	if !existed {
		return http.StatusNoContent, nil, nil
	}
	return http.StatusOK, nil, nil
}
