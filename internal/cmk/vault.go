package cmk

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/atrest/atrest/internal/account"
	"github.com/atrest/atrest/internal/keyvault"
	"github.com/atrest/atrest/internal/sse"
)

// vaultAudience is the audience of the identity's Key Vault tokens.
const vaultAudience = "https://vault.azure.net"

func isPKCS11(uri string) bool { return strings.HasPrefix(strings.ToLower(uri), "pkcs11:") }

// VaultName reads the vault a key's vault URI names: https://{vault}.{host}
// is vault {vault}; a bare host (localhost, an IP address) is the default
// vault.
func VaultName(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("key vault URI %q: want https://{vault}.{host}[:port]", uri)
	}
	host := u.Hostname()
	if net.ParseIP(host) != nil || !strings.Contains(host, ".") {
		return "default", nil
	}
	label, _, _ := strings.Cut(host, ".")
	return strings.ToLower(label), nil
}

// caller acts as principal: it gets a token from the issuer, as the
// managed identity would, and the vault acts for the token's principal.
func (m *Manager) caller(principal string) (keyvault.Caller, error) {
	tok, err := m.d.Identity.IssueFor(principal, vaultAudience)
	if err != nil {
		return keyvault.Caller{}, &sse.KeyError{Code: sse.CodeTokenNotAcquired, Reason: err.Error()}
	}
	c, err := m.d.Identity.Verify(tok.Value, func(aud string) bool { return aud == vaultAudience })
	if err != nil {
		return keyvault.Caller{}, &sse.KeyError{Code: sse.CodeTokenNotAcquired, Reason: err.Error()}
	}
	kc, err := m.d.KV.CallerFor(c.ObjectID)
	if err != nil {
		return keyvault.Caller{}, &sse.KeyError{Code: sse.CodeTokenNotAcquired, Reason: err.Error()}
	}
	return kc, nil
}

// target resolves a key into a vault reference, checking the vault exists.
func (m *Manager) target(k account.KeyVaultKey, version string) (keyvault.KeyRef, error) {
	name, err := VaultName(k.VaultURI)
	if err != nil {
		return keyvault.KeyRef{}, &sse.KeyError{Code: sse.CodeVaultNotFound, Reason: err.Error()}
	}
	if _, ok := m.d.KV.Vault(name); !ok {
		return keyvault.KeyRef{}, &sse.KeyError{Code: sse.CodeVaultNotFound, Reason: "no vault " + name}
	}
	return keyvault.KeyRef{Vault: name, Name: k.Name, Version: version}, nil
}

// vaultErr turns a vault refusal into the storage error: a disabled,
// deleted or purged key, and a role the identity no longer holds, all
// mean the key is not found to unwrap with.
func vaultErr(err error) error {
	var e *keyvault.Error
	if errors.As(err, &e) {
		reason := fmt.Sprintf("%d %s %s", e.Status, e.Code, e.Inner)
		if e.Status == http.StatusUnauthorized {
			return &sse.KeyError{Code: sse.CodeTokenNotAcquired, Reason: reason}
		}
		return &sse.KeyError{Code: sse.CodeKeyNotFound, Reason: reason}
	}
	if strings.HasPrefix(err.Error(), "no vault") {
		return &sse.KeyError{Code: sse.CodeVaultNotFound, Reason: err.Error()}
	}
	return err
}

// purged reports whether a key is gone for good: neither in the vault
// (enabled or not) nor among its deleted keys. A disabled, soft-deleted or
// forbidden key may come back; a purged one never does.
func (m *Manager) purged(ref keyvault.KeyRef) bool {
	notFound := func(err error) bool {
		var e *keyvault.Error
		return errors.As(err, &e) && e.Status == http.StatusNotFound
	}
	_, err := m.d.KV.Do(background(), keyvault.Admin(), "GetKey", ref.Vault, ref.Name, "", nil, nil)
	if !notFound(err) {
		return false
	}
	_, err = m.d.KV.Do(background(), keyvault.Admin(), "GetDeletedKey", ref.Vault, ref.Name, "", nil, nil)
	return notFound(err)
}

// latest reads the newest version and type of a key, as the identity.
func (m *Manager) latest(rec *ikRecord) (version, kty string, err error) {
	if isPKCS11(rec.Key.VaultURI) {
		return rec.WrappedBy, "oct", nil
	}
	c, err := m.caller(rec.Principal)
	if err != nil {
		return "", "", err
	}
	ref, err := m.target(rec.Key, "")
	if err != nil {
		return "", "", err
	}
	out, err := m.d.KV.Do(background(), c, "GetKey", ref.Vault, ref.Name, rec.Key.Version, nil, nil)
	if err != nil {
		return "", "", vaultErr(err)
	}
	b, _ := json.Marshal(out)
	var kb struct {
		Key struct {
			KID string `json:"kid"`
			Kty string `json:"kty"`
		} `json:"key"`
	}
	if err := json.Unmarshal(b, &kb); err != nil {
		return "", "", err
	}
	i := strings.LastIndex(kb.Key.KID, "/")
	return kb.Key.KID[i+1:], kb.Key.Kty, nil
}

// wrap wraps raw under rec.Key (its pinned version, or the newest) and
// records the version and algorithm used.
func (m *Manager) wrap(rec *ikRecord, raw []byte) error {
	if isPKCS11(rec.Key.VaultURI) {
		if m.d.HSM == nil {
			return &sse.KeyError{Code: sse.CodeKeyNotFound, Reason: "no PKCS#11 module is configured"}
		}
		w, v, err := m.d.HSM.Wrap(rec.Key, raw)
		if err != nil {
			return err
		}
		rec.Wrapped, rec.WrappedBy, rec.Alg = w, v, "CKM_AES_GCM"
		return nil
	}
	version, kty, err := m.latest(rec)
	if err != nil {
		return err
	}
	if rec.Key.Version != "" {
		version = rec.Key.Version
	}
	alg := "RSA-OAEP-256"
	if strings.HasPrefix(kty, "oct") {
		alg = "A256KW"
	}
	c, err := m.caller(rec.Principal)
	if err != nil {
		return err
	}
	ref, err := m.target(rec.Key, version)
	if err != nil {
		return err
	}
	res, err := m.d.KV.WrapKey(background(), c, ref, alg, raw)
	if err != nil {
		return vaultErr(err)
	}
	rec.Wrapped, rec.WrappedBy, rec.Alg = res.Value, res.Version, alg
	return nil
}

// unwrap asks the key holder for an intermediate key, as the identity.
func (m *Manager) unwrap(rec *ikRecord) ([]byte, error) {
	if isPKCS11(rec.Key.VaultURI) {
		if m.d.HSM == nil {
			return nil, &sse.KeyError{Code: sse.CodeKeyNotFound, Reason: "no PKCS#11 module is configured"}
		}
		return m.d.HSM.Unwrap(rec.Key, rec.WrappedBy, rec.Wrapped)
	}
	c, err := m.caller(rec.Principal)
	if err != nil {
		return nil, err
	}
	ref, err := m.target(rec.Key, rec.WrappedBy)
	if err != nil {
		return nil, err
	}
	res, err := m.d.KV.UnwrapKey(background(), c, ref, rec.Alg, rec.Wrapped)
	if err != nil {
		err = vaultErr(err)
		var ke *sse.KeyError
		if errors.As(err, &ke) && ke.Code == sse.CodeKeyNotFound && m.purged(ref) {
			ke.Permanent = true
		}
		return nil, err
	}
	if len(res.Value) != 32 {
		clear(res.Value)
		return nil, &sse.KeyError{Code: sse.CodeKeyNotFound, Reason: "the vault returned a key of the wrong size"}
	}
	return res.Value, nil
}
