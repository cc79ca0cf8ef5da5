// Package rbac decides who may do what in the Key Vault: the built-in Key
// Vault roles, assignments of a role to a principal at a scope, and Check,
// the one place an authorization decision is made.
//
//	st, _ := rbac.Open(db, keyring)
//	st.Assign(principalObjectID, "Key Vault Crypto User", rbac.KeyScope("kv1", "k1"))
//	d := st.Check(principalObjectID, rbac.ActionWrap, rbac.KeyScope("kv1", "k1"))
//
// Scopes are "/" (every vault), "/vaults/{vault}" and
// "/vaults/{vault}/keys/{key}"; an assignment covers its scope and
// everything below it. Roles and actions use Azure's names and ids so that
// what an operator knows from Azure carries over.
package rbac

import (
	"strings"
)

// Data actions checked by the Key Vault, named as Azure names them.
const (
	ActionKeyRead        = "Microsoft.KeyVault/vaults/keys/read"
	ActionKeyCreate      = "Microsoft.KeyVault/vaults/keys/create/action"
	ActionKeyImport      = "Microsoft.KeyVault/vaults/keys/import/action"
	ActionKeyUpdate      = "Microsoft.KeyVault/vaults/keys/update/action"
	ActionKeyDelete      = "Microsoft.KeyVault/vaults/keys/delete"
	ActionKeyBackup      = "Microsoft.KeyVault/vaults/keys/backup/action"
	ActionKeyRestore     = "Microsoft.KeyVault/vaults/keys/restore/action"
	ActionKeyRotate      = "Microsoft.KeyVault/vaults/keys/rotate/action"
	ActionEncrypt        = "Microsoft.KeyVault/vaults/keys/encrypt/action"
	ActionDecrypt        = "Microsoft.KeyVault/vaults/keys/decrypt/action"
	ActionWrap           = "Microsoft.KeyVault/vaults/keys/wrap/action"
	ActionUnwrap         = "Microsoft.KeyVault/vaults/keys/unwrap/action"
	ActionSign           = "Microsoft.KeyVault/vaults/keys/sign/action"
	ActionVerify         = "Microsoft.KeyVault/vaults/keys/verify/action"
	ActionPolicyRead     = "Microsoft.KeyVault/vaults/keyrotationpolicies/read"
	ActionPolicyWrite    = "Microsoft.KeyVault/vaults/keyrotationpolicies/write"
	ActionDeletedRead    = "Microsoft.KeyVault/vaults/deletedKeys/read"
	ActionDeletedRecover = "Microsoft.KeyVault/vaults/deletedKeys/recover/action"
	ActionDeletedPurge   = "Microsoft.KeyVault/vaults/deletedKeys/delete"
	// ActionRandom guards get-random-bytes. Azure offers that operation on
	// Managed HSM only, so the name is atrest's own.
	ActionRandom = "Microsoft.KeyVault/vaults/rng/action"
)

// Role is a named set of data actions; "*" in an action matches any text.
type Role struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	DataActions []string `json:"dataActions"`
}

// Roles are the built-in Key Vault roles, with Azure's ids.
var Roles = []Role{
	{
		ID: "00482a5a-887f-4fb3-b363-3b7fe8e74483", Name: "Key Vault Administrator",
		Description: "Perform all data plane operations on a key vault and all objects in it.",
		DataActions: []string{"Microsoft.KeyVault/vaults/*"},
	},
	{
		ID: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", Name: "Key Vault Crypto Officer",
		Description: "Perform any action on the keys of a key vault, except manage permissions.",
		DataActions: []string{"Microsoft.KeyVault/vaults/keys/*", "Microsoft.KeyVault/vaults/keyrotationpolicies/*",
			"Microsoft.KeyVault/vaults/deletedKeys/*", ActionRandom},
	},
	{
		ID: "12338af0-0e69-4776-bea7-57ae8d297424", Name: "Key Vault Crypto User",
		Description: "Perform cryptographic operations using keys.",
		DataActions: []string{ActionKeyRead, ActionKeyUpdate, ActionKeyBackup, ActionEncrypt, ActionDecrypt,
			ActionWrap, ActionUnwrap, ActionSign, ActionVerify, ActionRandom},
	},
	{
		ID: "e147488a-f6f5-4113-8e2d-b22465e65bf6", Name: "Key Vault Crypto Service Encryption User",
		Description: "Read metadata of keys and perform wrap/unwrap operations.",
		DataActions: []string{ActionKeyRead, ActionWrap, ActionUnwrap},
	},
	{
		ID: "21090545-7ca7-4776-b22c-e363652d74d2", Name: "Key Vault Reader",
		Description: "Read metadata of key vaults and their keys; no cryptographic operations.",
		DataActions: []string{"Microsoft.KeyVault/vaults/*/read"},
	},
}

// shortNames are CLI-friendly aliases.
var shortNames = map[string]string{
	"administrator": "Key Vault Administrator", "admin": "Key Vault Administrator",
	"crypto-officer": "Key Vault Crypto Officer", "crypto-user": "Key Vault Crypto User",
	"crypto-service-encryption-user": "Key Vault Crypto Service Encryption User",
	"service-encryption-user":        "Key Vault Crypto Service Encryption User",
	"reader":                         "Key Vault Reader",
}

// RoleByName finds a role by name, id or short name ("crypto-user"),
// ignoring case.
func RoleByName(ref string) (Role, bool) {
	if full, ok := shortNames[strings.ToLower(ref)]; ok {
		ref = full
	}
	for _, r := range Roles {
		if strings.EqualFold(r.Name, ref) || strings.EqualFold(r.ID, ref) {
			return r, true
		}
	}
	return Role{}, false
}

// Allows reports whether the role grants action.
func (r Role) Allows(action string) bool {
	for _, pat := range r.DataActions {
		if wildMatch(strings.ToLower(pat), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

// wildMatch matches s against a pattern whose "*" stands for any text,
// slashes included, as Azure's action wildcards do.
func wildMatch(pat, s string) bool {
	parts := strings.Split(pat, "*")
	if len(parts) == 1 {
		return pat == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		last := i == len(parts)-2
		if last {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return true
}
