package keyvault

import (
	"strings"

	"github.com/atrest/atrest/internal/rbac"
)

// route declares one operation of the keys REST API: how it is recognised,
// which data action it needs at which scope, and its handler. The first
// matching row wins, so literal segments come before {version}.
type route struct {
	name    string
	method  string
	pattern []string // literal segments, "{name}" and "{version}" ("" = latest)
	action  string
	scope   scopeLevel
	limit   int64 // largest request body
	handle  func(s *Service, o *op, body []byte) (any, error)
}

const (
	smallBody = 64 << 10
	largeBody = 16 << 20 // restore and import carry whole keys
)

func p(path string) []string { return strings.Split(path, "/") }

var routes = append([]route{
	{"GetKeys", "GET", p("keys"), rbac.ActionKeyRead, atVault, 0, (*Service).listKeys},
	{"GetDeletedKeys", "GET", p("deletedkeys"), rbac.ActionDeletedRead, atVault, 0, (*Service).listDeletedKeys},
	{"RestoreKey", "POST", p("keys/restore"), rbac.ActionKeyRestore, atVault, largeBody, (*Service).restoreKey},
	{"GetRandomBytes", "POST", p("rng"), rbac.ActionRandom, atVault, smallBody, (*Service).randomBytes},
	{"CreateKey", "POST", p("keys/{name}/create"), rbac.ActionKeyCreate, atKey, smallBody, (*Service).createKey},
	{"GetKeyVersions", "GET", p("keys/{name}/versions"), rbac.ActionKeyRead, atKey, 0, (*Service).listVersions},
	{"BackupKey", "POST", p("keys/{name}/backup"), rbac.ActionKeyBackup, atKey, smallBody, (*Service).backupKey},
	{"RotateKey", "POST", p("keys/{name}/rotate"), rbac.ActionKeyRotate, atKey, smallBody, (*Service).rotateKey},
	{"GetKeyRotationPolicy", "GET", p("keys/{name}/rotationpolicy"), rbac.ActionPolicyRead, atKey, 0, (*Service).getPolicy},
	{"UpdateKeyRotationPolicy", "PUT", p("keys/{name}/rotationpolicy"), rbac.ActionPolicyWrite, atKey, smallBody, (*Service).setPolicy},
	{"ImportKey", "PUT", p("keys/{name}"), rbac.ActionKeyImport, atKey, largeBody, (*Service).importKey},
	{"DeleteKey", "DELETE", p("keys/{name}"), rbac.ActionKeyDelete, atKey, 0, (*Service).deleteKey},
	{"GetKey", "GET", p("keys/{name}"), rbac.ActionKeyRead, atKey, 0, (*Service).getKey},
	{"GetKey", "GET", p("keys/{name}/{version}"), rbac.ActionKeyRead, atKey, 0, (*Service).getKey},
	{"UpdateKey", "PATCH", p("keys/{name}"), rbac.ActionKeyUpdate, atKey, smallBody, (*Service).updateKey},
	{"UpdateKey", "PATCH", p("keys/{name}/{version}"), rbac.ActionKeyUpdate, atKey, smallBody, (*Service).updateKey},
	{"GetDeletedKey", "GET", p("deletedkeys/{name}"), rbac.ActionDeletedRead, atKey, 0, (*Service).getDeletedKey},
	{"PurgeDeletedKey", "DELETE", p("deletedkeys/{name}"), rbac.ActionDeletedPurge, atKey, 0, (*Service).purgeDeletedKey},
	{"RecoverDeletedKey", "POST", p("deletedkeys/{name}/recover"), rbac.ActionDeletedRecover, atKey, smallBody, (*Service).recoverDeletedKey},
}, cryptoRoutes()...)

// cryptoRoutes declares each key operation twice: with a version, and
// without one (the SDKs' "latest" form after path cleaning).
func cryptoRoutes() []route {
	ops := []struct {
		name, seg, action string
		kind              cryptoKind
	}{
		{"Encrypt", "encrypt", rbac.ActionEncrypt, opEncrypt},
		{"Decrypt", "decrypt", rbac.ActionDecrypt, opDecrypt},
		{"WrapKey", "wrapkey", rbac.ActionWrap, opWrap},
		{"UnwrapKey", "unwrapkey", rbac.ActionUnwrap, opUnwrap},
		{"Sign", "sign", rbac.ActionSign, opSign},
		{"Verify", "verify", rbac.ActionVerify, opVerify},
	}
	var out []route
	for _, c := range ops {
		h := c.kind.handler()
		out = append(out,
			route{c.name, "POST", p("keys/{name}/{version}/" + c.seg), c.action, atKey, smallBody, h},
			route{c.name, "POST", p("keys/{name}/" + c.seg), c.action, atKey, smallBody, h})
	}
	return out
}

// validKeyName is Key Vault's rule: 1-127 letters, digits and hyphens.
func validKeyName(n string) bool {
	if n == "" || len(n) > 127 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validVersion(v string) bool {
	if len(v) > 64 {
		return false
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// matchRoute finds the route for a method and path. found reports whether
// any route has this path (for 405 versus 404).
func matchRoute(method, path string) (rt *route, name, version string, found bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	try := [][]string{parts}
	if n := len(parts); n > 1 && parts[n-1] == "" {
		try = append(try, parts[:n-1]) // tolerate a trailing slash
	}
	for _, ps := range try {
		for i := range routes {
			r := &routes[i]
			n, v, ok := r.matches(ps)
			if !ok {
				continue
			}
			found = true
			if r.method == method {
				return r, n, v, true
			}
		}
	}
	return nil, "", "", found
}

func (r *route) matches(parts []string) (name, version string, ok bool) {
	if len(parts) != len(r.pattern) {
		return "", "", false
	}
	for i, seg := range r.pattern {
		switch seg {
		case "{name}":
			if !validKeyName(parts[i]) {
				return "", "", false
			}
			name = parts[i]
		case "{version}":
			if !validVersion(parts[i]) {
				return "", "", false
			}
			version = strings.ToLower(parts[i])
		default:
			if !strings.EqualFold(seg, parts[i]) {
				return "", "", false
			}
		}
	}
	return name, version, true
}
