package mgmt

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/rbac"
	"github.com/atrest/atrest/internal/sse"
)

// Role assignments: Azure's management roles (Owner, Contributor, Reader)
// govern this API and are kept here; the Key Vault's data roles (Key Vault
// Crypto Service Encryption User, ...) are handed to the rbac store, which
// the Key Vault consults. Either way the assignment is listed, read and
// deleted here by its ARM name.

type armRole struct {
	ID, Name string
	grants   access // the strongest access it gives
}

var armRoles = []armRole{
	{"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", owner},
	{"b24988ac-6180-49b2-8f06-2dd04d7e1f6a", "Contributor", write},
	{"acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", read},
}

const rolesKEKRef = "mgmt/roles"
const prefixAssignment = "mgmt\x00ra\x00"

type assignment struct {
	Name        string    `json:"name"`
	Scope       string    `json:"scope"`
	RoleID      string    `json:"roleId"`
	PrincipalID string    `json:"principalId"`
	RBACID      string    `json:"rbacId,omitempty"` // set for Key Vault roles
	Created     time.Time `json:"created"`
}

type roleStore struct {
	db  *sse.DB
	kek sse.KEK
	mu  sync.RWMutex
	all map[string]assignment // by lower-case name
}

func openRoles(db *sse.DB, keys *sse.Keyring) (*roleStore, error) {
	kek, err := keys.ServiceKEK(rolesKEKRef)
	if err != nil {
		return nil, err
	}
	rs := &roleStore{db: db, kek: kek, all: map[string]assignment{}}
	err = db.View(func(tx *sse.Tx) error {
		return tx.Scan([]byte(prefixAssignment), nil, func(_, v []byte) error {
			var a assignment
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			rs.all[strings.ToLower(a.Name)] = a
			return nil
		})
	})
	return rs, err
}

func (rs *roleStore) put(a assignment) error {
	b, _ := json.Marshal(a)
	if err := rs.db.Update(func(tx *sse.Tx) error { return tx.Put([]byte(prefixAssignment+strings.ToLower(a.Name)), b, rs.kek) }); err != nil {
		return err
	}
	rs.mu.Lock()
	rs.all[strings.ToLower(a.Name)] = a
	rs.mu.Unlock()
	return nil
}

func (rs *roleStore) remove(name string) error {
	if err := rs.db.Update(func(tx *sse.Tx) error { return tx.Delete([]byte(prefixAssignment + strings.ToLower(name))) }); err != nil {
		return err
	}
	rs.mu.Lock()
	delete(rs.all, strings.ToLower(name))
	rs.mu.Unlock()
	return nil
}

func (rs *roleStore) get(name string) (assignment, bool) {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	a, ok := rs.all[strings.ToLower(name)]
	return a, ok
}

func (rs *roleStore) list() []assignment {
	rs.mu.RLock()
	out := make([]assignment, 0, len(rs.all))
	for _, a := range rs.all {
		out = append(out, a)
	}
	rs.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// covers reports whether an assignment at scope applies to path.
func covers(scope, path string) bool {
	s := strings.ToLower(strings.TrimSuffix(scope, "/"))
	return strings.HasPrefix(strings.ToLower(strings.TrimSuffix(path, "/"))+"/", s+"/")
}

// authorize is the access decision of every route.
func (a *API) authorize(r *request, rt *route) error {
	if r.caller.operator {
		return nil
	}
	if rt.name == "ListSubscriptions" {
		return nil // answers only what the caller may see
	}
	for _, as := range a.roles.list() {
		if !strings.EqualFold(as.PrincipalID, r.caller.oid) || as.RBACID != "" || !covers(as.Scope, r.URL.Path) {
			continue
		}
		for _, role := range armRoles {
			if strings.EqualFold(role.ID, as.RoleID) && role.grants >= rt.access {
				return nil
			}
		}
	}
	return errorf(http.StatusForbidden, "AuthorizationFailed", "The client with object id '%s' does not have authorization to perform action '%s' over scope '%s'.", r.caller.oid, rt.name, r.URL.Path)
}

// hasAnyRole reports whether the caller holds a management role anywhere.
func (a *API) hasAnyRole(c caller) bool {
	if c.operator {
		return true
	}
	for _, as := range a.roles.list() {
		if strings.EqualFold(as.PrincipalID, c.oid) && as.RBACID == "" {
			return true
		}
	}
	return false
}

// roleDefID reads a roleDefinitionId (a full id or a bare GUID).
func roleDefID(s string) string {
	if i := strings.LastIndex(s, "/"); i >= 0 {
		s = s[i+1:]
	}
	return strings.ToLower(s)
}

// kvScope maps an ARM scope onto the Key Vault's: a vault, one of its
// keys, or (at subscription or group level) every vault.
func kvScope(scope string) (string, error) {
	parts := p(strings.ToLower(scope))
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "microsoft.keyvault" && i+2 < len(parts) && parts[i+1] == "vaults" {
			s := rbac.VaultScope(parts[i+2])
			if rest := parts[i+3:]; len(rest) == 2 && rest[0] == "keys" {
				s = rbac.KeyScope(parts[i+2], rest[1])
			} else if len(rest) != 0 {
				return "", badRequest("Scope %q: Key Vault roles apply to a vault or one of its keys.", scope)
			}
			return s, nil
		}
	}
	if strings.Contains(strings.ToLower(scope), "/providers/") {
		return "", badRequest("Scope %q: Key Vault roles apply to a subscription, a resource group, a vault or a key.", scope)
	}
	return "/", nil
}

type assignmentJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType,omitempty"`
		Scope            string `json:"scope"`
		CreatedOn        string `json:"createdOn,omitempty"`
	} `json:"properties"`
}

func (a *API) assignmentView(as assignment) assignmentJSON {
	var v assignmentJSON
	v.ID = strings.TrimSuffix(as.Scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + as.Name
	v.Name, v.Type = as.Name, "Microsoft.Authorization/roleAssignments"
	v.Properties.RoleDefinitionID = "/subscriptions/" + a.Subscription() + "/providers/Microsoft.Authorization/roleDefinitions/" + as.RoleID
	v.Properties.PrincipalID, v.Properties.Scope, v.Properties.PrincipalType = as.PrincipalID, as.Scope, "ServicePrincipal"
	v.Properties.CreatedOn = as.Created.Format(time.RFC3339)
	return v
}

func (a *API) putAssignment(r *request) (int, any, error) {
	var in assignmentJSON
	if err := decode(r.body, &in); err != nil {
		return 0, nil, err
	}
	name := r.vars["id"]
	if _, err := uuid.Parse(name); err != nil {
		return 0, nil, badRequest("The role assignment name %q must be a GUID.", name)
	}
	if old, ok := a.roles.get(name); ok {
		if roleDefID(in.Properties.RoleDefinitionID) == old.RoleID && strings.EqualFold(in.Properties.PrincipalID, old.PrincipalID) {
			return http.StatusOK, a.assignmentView(old), nil
		}
		return 0, nil, errorf(http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists with other properties.")
	}
	if _, err := a.d.Identity.Lookup(in.Properties.PrincipalID); err != nil {
		return 0, nil, errorf(http.StatusBadRequest, "PrincipalNotFound", "Principal %s does not exist in the directory.", in.Properties.PrincipalID)
	}
	as := assignment{Name: strings.ToLower(name), Scope: r.vars["scope"], RoleID: roleDefID(in.Properties.RoleDefinitionID),
		PrincipalID: strings.ToLower(in.Properties.PrincipalID), Created: time.Now().UTC().Truncate(time.Second)}
	known := false
	for _, role := range armRoles {
		known = known || role.ID == as.RoleID
	}
	if !known {
		role, ok := rbac.RoleByName(as.RoleID)
		if !ok {
			return 0, nil, errorf(http.StatusBadRequest, "RoleDefinitionDoesNotExist", "The role definition %s does not exist.", as.RoleID)
		}
		sc, err := kvScope(as.Scope)
		if err != nil {
			return 0, nil, err
		}
		got, err := a.d.RBAC.Assign(as.PrincipalID, role.ID, sc)
		if err != nil {
			return 0, nil, badRequest("%v", err)
		}
		as.RBACID = got.ID
	}
	if err := a.roles.put(as); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, a.assignmentView(as), nil
}

func (a *API) getAssignment(r *request) (int, any, error) {
	as, ok := a.roles.get(r.vars["id"])
	if !ok {
		return 0, nil, errorf(http.StatusNotFound, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", r.vars["id"])
	}
	return http.StatusOK, a.assignmentView(as), nil
}

func (a *API) deleteAssignment(r *request) (int, any, error) {
	as, ok := a.roles.get(r.vars["id"])
	if !ok {
		return http.StatusNoContent, nil, nil
	}
	if as.RBACID != "" {
		if _, err := a.d.RBAC.Remove(as.RBACID); err != nil && !strings.Contains(err.Error(), "no such") {
			return 0, nil, err
		}
	}
	if err := a.roles.remove(as.Name); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.assignmentView(as), nil
}

func (a *API) listAssignments(r *request) (int, any, error) {
	out := []assignmentJSON{}
	for _, as := range a.roles.list() {
		if covers(r.vars["scope"], as.Scope) || covers(as.Scope, r.vars["scope"]) {
			out = append(out, a.assignmentView(as))
		}
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}

func (a *API) listRoleDefinitions(r *request) (int, any, error) {
	type def struct {
		ID         string         `json:"id"`
		Name       string         `json:"name"`
		Type       string         `json:"type"`
		Properties map[string]any `json:"properties"`
	}
	var out []def
	add := func(id, name, desc string) {
		out = append(out, def{ID: "/subscriptions/" + a.Subscription() + "/providers/Microsoft.Authorization/roleDefinitions/" + id,
			Name: id, Type: "Microsoft.Authorization/roleDefinitions",
			Properties: map[string]any{"roleName": name, "description": desc, "type": "BuiltInRole"}})
	}
	for _, role := range armRoles {
		add(role.ID, role.Name, fmt.Sprintf("Built-in %s role of the management API.", role.Name))
	}
	for _, role := range rbac.Roles {
		add(role.ID, role.Name, role.Description)
	}
	return http.StatusOK, map[string]any{"value": out}, nil
}
