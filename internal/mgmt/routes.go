package mgmt

import (
	"net/http"
	"strings"
)

// access is what a route needs of the caller.
type access int

const (
	read  access = iota // Reader, Contributor or Owner
	write               // Contributor or Owner
	owner               // Owner (role assignments)
)

// route is one operation: method, path pattern ("{x}" binds a segment,
// "{scope...}" any run of segments), the access it needs and its handler.
type route struct {
	name    string
	method  string
	pattern []string
	access  access
	handle  func(a *API, r *request) (int, any, error)
}

func p(s string) []string { return strings.Split(strings.Trim(s, "/"), "/") }

const (
	sa  = "subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"
	kv  = "subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults"
	ras = "{scope...}/providers/Microsoft.Authorization/roleAssignments"
	uai = "subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
)

var routes = []route{
	{"ListSubscriptions", "GET", p("subscriptions"), read, (*API).listSubscriptions},
	{"GetSubscription", "GET", p("subscriptions/{sub}"), read, (*API).getSubscription},
	{"ListResourceGroups", "GET", p("subscriptions/{sub}/resourcegroups"), read, (*API).listGroups},
	{"GetResourceGroup", "GET", p("subscriptions/{sub}/resourcegroups/{rg}"), read, (*API).getGroup},
	{"CreateResourceGroup", "PUT", p("subscriptions/{sub}/resourcegroups/{rg}"), write, (*API).getGroup},

	{"ListStorageAccounts", "GET", p("subscriptions/{sub}/providers/Microsoft.Storage/storageAccounts"), read, (*API).listAccounts},
	{"ListStorageAccountsByGroup", "GET", p("subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts"), read, (*API).listAccounts},
	{"CreateStorageAccount", "PUT", p(sa), write, (*API).createAccount},
	{"GetStorageAccount", "GET", p(sa), read, (*API).getAccount},
	{"UpdateStorageAccount", "PATCH", p(sa), write, (*API).updateAccount},
	{"ListKeys", "POST", p(sa + "/listKeys"), write, (*API).listKeys},
	{"RegenerateKey", "POST", p(sa + "/regenerateKey"), write, (*API).regenerateKey},
	{"RefreshKey", "POST", p(sa + "/refreshKey"), write, (*API).refreshKey},
	{"ListEncryptionScopes", "GET", p(sa + "/encryptionScopes"), read, (*API).listScopes},
	{"PutEncryptionScope", "PUT", p(sa + "/encryptionScopes/{scopeName}"), write, (*API).putScope},
	{"PatchEncryptionScope", "PATCH", p(sa + "/encryptionScopes/{scopeName}"), write, (*API).patchScope},
	{"GetEncryptionScope", "GET", p(sa + "/encryptionScopes/{scopeName}"), read, (*API).getScope},

	{"ListVaults", "GET", p("subscriptions/{sub}/providers/Microsoft.KeyVault/vaults"), read, (*API).listVaults},
	{"ListVaultsByGroup", "GET", p(kv), read, (*API).listVaults},
	{"CreateVault", "PUT", p(kv + "/{vault}"), write, (*API).putVault},
	{"UpdateVault", "PATCH", p(kv + "/{vault}"), write, (*API).patchVault},
	{"GetVault", "GET", p(kv + "/{vault}"), read, (*API).getVault},
	{"DeleteVault", "DELETE", p(kv + "/{vault}"), write, (*API).deleteVault},

	{"ListUserAssignedIdentities", "GET", p("subscriptions/{sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"), read, (*API).listUserIdentities},
	{"ListUserAssignedIdentitiesByGroup", "GET", p(uai), read, (*API).listUserIdentities},
	{"CreateUserAssignedIdentity", "PUT", p(uai + "/{name}"), write, (*API).putUserIdentity},
	{"GetUserAssignedIdentity", "GET", p(uai + "/{name}"), read, (*API).getUserIdentity},
	{"DeleteUserAssignedIdentity", "DELETE", p(uai + "/{name}"), write, (*API).deleteUserIdentity},

	{"ListRoleAssignments", "GET", p(ras), read, (*API).listAssignments},
	{"CreateRoleAssignment", "PUT", p(ras + "/{id}"), owner, (*API).putAssignment},
	{"GetRoleAssignment", "GET", p(ras + "/{id}"), read, (*API).getAssignment},
	{"DeleteRoleAssignment", "DELETE", p(ras + "/{id}"), owner, (*API).deleteAssignment},
	{"ListRoleDefinitions", "GET", p("{scope...}/providers/Microsoft.Authorization/roleDefinitions"), read, (*API).listRoleDefinitions},
}

// match finds the route of a request and binds its variables.
func match(method, path string) (*route, map[string]string, error) {
	parts := p(path)
	found := false
	for i := range routes {
		rt := &routes[i]
		vars, ok := bind(rt.pattern, parts)
		if !ok {
			continue
		}
		found = true
		if rt.method == method {
			return rt, vars, nil
		}
	}
	if found {
		return nil, nil, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The method %s is not allowed here.", method)
	}
	return nil, nil, errorf(http.StatusNotFound, "NoRegisteredProviderFound", "No resource or operation answers %s %s.", method, path)
}

func bind(pattern, parts []string) (map[string]string, bool) {
	vars := map[string]string{}
	if len(pattern) > 0 && pattern[0] == "{scope...}" {
		// the scope is everything before the fixed tail
		tail := pattern[1:]
		if len(parts) < len(tail)+1 {
			return nil, false
		}
		n := len(parts) - len(tail)
		vars["scope"] = "/" + strings.Join(parts[:n], "/")
		pattern, parts = tail, parts[n:]
	}
	if len(pattern) != len(parts) {
		return nil, false
	}
	for i, seg := range pattern {
		if strings.HasPrefix(seg, "{") {
			if parts[i] == "" {
				return nil, false
			}
			vars[strings.Trim(seg, "{}")] = parts[i]
			continue
		}
		if !strings.EqualFold(seg, parts[i]) {
			return nil, false
		}
	}
	return vars, true
}
