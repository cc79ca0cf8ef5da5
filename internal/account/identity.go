package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/sse"
)

const prefixUserIdentity = "acct\x00u\x00"

// UserIdentity is a user-assigned managed identity
// (Microsoft.ManagedIdentity/userAssignedIdentities): a principal of its
// own, created before and living apart from the accounts that use it.
type UserIdentity struct {
	ResourceGroup string            `json:"resourceGroup"`
	Name          string            `json:"name"`
	Location      string            `json:"location"`
	Tags          map[string]string `json:"tags,omitempty"`
	PrincipalID   string            `json:"principalId"`
	ClientID      string            `json:"clientId"`
	TenantID      string            `json:"tenantId"`
	Created       time.Time         `json:"created"`
}

// UserAssigned is an account's reference to a user-assigned identity.
type UserAssigned struct {
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
}

const userIdentityProvider = "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"

// UserIdentityID is a user-assigned identity's resource id, as accounts
// name it.
func (r *Registry) UserIdentityID(u UserIdentity) string {
	return "/subscriptions/" + r.d.Principals.Tenant() + "/resourceGroups/" + u.ResourceGroup + userIdentityProvider + u.Name
}

func userIdentityKey(rg, name string) string {
	return strings.ToLower(rg) + "/" + strings.ToLower(name)
}

// validIdentityName is Azure's rule: 3-128 letters, digits, '-' and '_',
// starting with a letter or digit.
func validIdentityName(n string) bool {
	if len(n) < 3 || len(n) > 128 {
		return false
	}
	for i, c := range n {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '_') {
			return false
		}
	}
	return true
}

// principalName is the identity's principal's name: unique (principal
// names are, identity names only within a group) and short enough for
// one, with the identity's name in it for people.
func principalName(rg, name string) string {
	sum := sha256.Sum256([]byte(userIdentityKey(rg, name)))
	if len(name) > 40 {
		name = name[:40]
	}
	return "uami-" + name + "-" + hex.EncodeToString(sum[:4])
}

// PutUserIdentity creates a user-assigned identity, with a new principal,
// or updates the location and tags of an existing one; created reports
// which.
func (r *Registry) PutUserIdentity(u UserIdentity) (out UserIdentity, created bool, err error) {
	if !validIdentityName(u.Name) {
		return UserIdentity{}, false, invalid("identity name %q: use 3-128 letters, digits, '-' and '_'", u.Name)
	}
	if r.d.Principals == nil {
		return UserIdentity{}, false, invalid("managed identities are not available")
	}
	r.idMu.Lock()
	defer r.idMu.Unlock()
	k := userIdentityKey(u.ResourceGroup, u.Name)
	r.mu.RLock()
	cur := r.uids[k]
	r.mu.RUnlock()
	next := u
	if cur != nil {
		next = *cur
		if u.Location != "" {
			next.Location = u.Location
		}
		if u.Tags != nil {
			next.Tags = cloneMap(u.Tags)
		}
	} else {
		next.Tags = cloneMap(u.Tags)
		next.Created = time.Now().UTC().Truncate(time.Second)
		next.TenantID = r.d.Principals.Tenant()
		if next.PrincipalID, next.ClientID, err = r.d.Principals.NewManagedIdentity(principalName(next.ResourceGroup, next.Name)); err != nil {
			return UserIdentity{}, false, invalid("identity %s: %v", next.Name, err)
		}
	}
	b, _ := json.Marshal(next)
	if err := r.d.DB.Update(func(tx *sse.Tx) error { return tx.Put([]byte(prefixUserIdentity+k), b, r.kek) }); err != nil {
		return UserIdentity{}, false, err
	}
	r.mu.Lock()
	r.uids[k] = &next
	r.mu.Unlock()
	return next, cur == nil, nil
}

// GetUserIdentity returns a user-assigned identity.
func (r *Registry) GetUserIdentity(rg, name string) (UserIdentity, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	u := r.uids[userIdentityKey(rg, name)]
	if u == nil {
		return UserIdentity{}, fmt.Errorf("%w: identity %q", ErrNotFound, name)
	}
	return *u, nil
}

// ListUserIdentities returns the user-assigned identities of a resource
// group ("" for all), by group and name.
func (r *Registry) ListUserIdentities(rg string) []UserIdentity {
	r.mu.RLock()
	var out []UserIdentity
	for _, u := range r.uids {
		if rg == "" || strings.EqualFold(rg, u.ResourceGroup) {
			out = append(out, *u)
		}
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		return userIdentityKey(out[i].ResourceGroup, out[i].Name) < userIdentityKey(out[j].ResourceGroup, out[j].Name)
	})
	return out
}

// DeleteUserIdentity deletes a user-assigned identity and its principal,
// as Azure does even while accounts use it: their customer-managed keys
// then become unavailable (no token can be had for the identity).
func (r *Registry) DeleteUserIdentity(rg, name string) (bool, error) {
	r.idMu.Lock()
	defer r.idMu.Unlock()
	k := userIdentityKey(rg, name)
	r.mu.RLock()
	u := r.uids[k]
	r.mu.RUnlock()
	if u == nil {
		return false, nil
	}
	if err := r.d.Principals.DeleteManagedIdentity(u.PrincipalID); err != nil {
		return false, err
	}
	if err := r.d.DB.Update(func(tx *sse.Tx) error { return tx.Delete([]byte(prefixUserIdentity + k)) }); err != nil {
		return false, err
	}
	r.mu.Lock()
	delete(r.uids, k)
	r.mu.Unlock()
	return true, nil
}

// userIdentityByID resolves a resource id an account names.
func (r *Registry) userIdentityByID(id string) (UserIdentity, error) {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) != 8 || !strings.EqualFold(parts[0], "subscriptions") || !strings.EqualFold(parts[1], r.d.Principals.Tenant()) ||
		!strings.EqualFold(parts[2], "resourceGroups") || !strings.EqualFold("/"+strings.Join(parts[4:7], "/")+"/", userIdentityProvider) {
		return UserIdentity{}, invalid("%q is not a user-assigned identity of this subscription", id)
	}
	u, err := r.GetUserIdentity(parts[3], parts[7])
	if err != nil {
		return UserIdentity{}, invalid("user-assigned identity %q does not exist", id)
	}
	return u, nil
}

func (r *Registry) loadUserIdentities(tx *sse.Tx) error {
	return tx.Scan([]byte(prefixUserIdentity), nil, func(_, v []byte) error {
		var u UserIdentity
		if err := json.Unmarshal(v, &u); err != nil {
			return err
		}
		r.uids[userIdentityKey(u.ResourceGroup, u.Name)] = &u
		return nil
	})
}

// identityTypes reads an identity type: None, SystemAssigned,
// UserAssigned or "SystemAssigned,UserAssigned".
func identityTypes(t string) (system, user bool, err error) {
	for _, p := range strings.Split(t, ",") {
		switch strings.ToLower(strings.TrimSpace(p)) {
		case "none", "":
		case "systemassigned":
			system = true
		case "userassigned":
			user = true
		default:
			return false, false, invalid("identity type %q: want None, SystemAssigned, UserAssigned or SystemAssigned,UserAssigned", t)
		}
	}
	return system, user, nil
}

// setIdentity applies the identity an account asks for. The
// system-assigned identity, once created, stays (its object id is what
// roles are granted to); the user-assigned ones are those named, each of
// which must exist.
func (r *Registry) setIdentity(a *Account, want *Identity) error {
	cur, _ := r.Get(a.Name)
	if want == nil || want.Type == "" {
		a.Identity = cloneIdentity(cur.Identity)
		return nil
	}
	system, user, err := identityTypes(want.Type)
	if err != nil {
		return err
	}
	next := &Identity{}
	if cur.Identity != nil && cur.Identity.PrincipalID != "" {
		next.PrincipalID, next.TenantID = cur.Identity.PrincipalID, cur.Identity.TenantID
	}
	if system && next.PrincipalID == "" {
		if r.d.Principals == nil {
			return invalid("managed identities are not available")
		}
		// a random suffix: an update that fails after this leaves the
		// principal behind, and must not block the next attempt
		suffix := make([]byte, 4)
		rand.Read(suffix)
		oid, _, err := r.d.Principals.NewManagedIdentity("storage-" + a.Name + "-" + hex.EncodeToString(suffix))
		if err != nil {
			return err
		}
		next.PrincipalID, next.TenantID = oid, r.d.Principals.Tenant()
	}
	switch {
	case user && want.UserAssigned != nil:
		next.UserAssigned = map[string]UserAssigned{}
		for id := range want.UserAssigned {
			u, err := r.userIdentityByID(id)
			if err != nil {
				return err
			}
			next.UserAssigned[r.UserIdentityID(u)] = UserAssigned{PrincipalID: u.PrincipalID, ClientID: u.ClientID}
		}
	case user && cur.Identity != nil:
		next.UserAssigned = cloneUserAssigned(cur.Identity.UserAssigned)
	}
	if len(next.UserAssigned) > 1 {
		return invalid("only one user-assigned identity is permitted on an account")
	}
	if user && len(next.UserAssigned) == 0 {
		return invalid("identity type %s needs userAssignedIdentities", want.Type)
	}
	switch sys, usr := next.PrincipalID != "", len(next.UserAssigned) > 0; {
	case sys && usr:
		next.Type = "SystemAssigned,UserAssigned"
	case sys:
		next.Type = "SystemAssigned"
	case usr:
		next.Type, next.TenantID = "UserAssigned", r.d.Principals.Tenant()
	default:
		next = nil
	}
	a.Identity = next
	return nil
}

// keyPrincipal is the principal an account's customer-managed keys (its
// own and its scopes') are used as: the user-assigned identity its
// encryption names, or else its system-assigned identity.
func (a *Account) keyPrincipal() (string, error) {
	if id := a.Encryption.Identity; id != "" {
		if a.Identity != nil {
			for k, v := range a.Identity.UserAssigned {
				if strings.EqualFold(k, id) {
					return v.PrincipalID, nil
				}
			}
		}
		return "", invalid("encryption identity %s is not one of the account's user-assigned identities", id)
	}
	if a.Identity == nil || a.Identity.PrincipalID == "" {
		return "", invalid("a customer-managed key needs a managed identity: the account's system-assigned one, or a user-assigned one named in encryption.identity")
	}
	return a.Identity.PrincipalID, nil
}

// canonicalKeyIdentity spells an encryption identity as the account's
// identity map does.
func (a *Account) canonicalKeyIdentity() {
	if a.Identity == nil || a.Encryption.Identity == "" {
		return
	}
	for k := range a.Identity.UserAssigned {
		if strings.EqualFold(k, a.Encryption.Identity) {
			a.Encryption.Identity = k
		}
	}
}

func cloneIdentity(id *Identity) *Identity {
	if id == nil {
		return nil
	}
	c := *id
	c.UserAssigned = cloneUserAssigned(id.UserAssigned)
	return &c
}

func cloneUserAssigned(m map[string]UserAssigned) map[string]UserAssigned {
	if m == nil {
		return nil
	}
	c := make(map[string]UserAssigned, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
