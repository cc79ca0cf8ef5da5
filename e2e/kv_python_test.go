package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKVPython runs the official Python clients (azure-keyvault-keys
// 4.8.0b3, azure-identity 1.13.0b2) through the key lifecycle in three
// phases, moving the service clock between them.
func TestKVPython(t *testing.T) {
	py := debianPython(t)
	ts := startServer(t)
	adminDo(t, ts, "vault.create", map[string]any{"name": "pykv", "retentionDays": 7}, nil)
	adminDo(t, ts, "vault.create", map[string]any{"name": "pylocked", "purgeProtection": true}, nil)
	cr := newPrincipal(t, ts, "py-officer", "Key Vault Crypto Officer", "/")
	_, idPort, _ := strings.Cut(strings.TrimPrefix(ts.IdentityURL, "https://"), ":")
	_, vPort, _ := strings.Cut(strings.TrimPrefix(ts.VaultURL, "https://"), ":")
	env := []string{
		"REQUESTS_CA_BUNDLE=" + ts.CAFile,
		"ATREST_VAULT_URL=" + vaultURL(ts, "pykv"),
		"ATREST_LOCKED_URL=" + vaultURL(ts, "pylocked"),
		"ATREST_DEFAULT_URL=https://127.0.0.1:" + vPort,
		"ATREST_AUTHORITY=https://localhost:" + idPort,
		"ATREST_TENANT=" + cr.TenantID, "ATREST_CLIENT_ID=" + cr.ClientID, "ATREST_CLIENT_SECRET=" + cr.Secret,
		"ATREST_STATE=" + filepath.Join(t.TempDir(), "state.json"),
	}
	out := runClient(t, 2*time.Minute, env, py, "testdata/py_keyvault.py", "main")
	if !strings.Contains(out, "python key vault main: all checks passed") {
		t.Fatalf("python main phase incomplete:\n%s", out)
	}
	t.Logf("python main: %d checks", strings.Count(out, "ok "))

	rep := advance(t, ts, "31d")
	t.Logf("clock advanced 31 days: %v", rep["sweep"])
	out = runClient(t, time.Minute, env, py, "testdata/py_keyvault.py", "after-shift")
	if !strings.Contains(out, "after-shift: all checks passed") {
		t.Fatalf("python after-shift phase incomplete:\n%s", out)
	}

	var mi map[string]any
	adminDo(t, ts, "principal.create", map[string]any{"name": "py-mi", "managed": true}, &mi)
	adminDo(t, ts, "role.assign", map[string]any{"principal": "py-mi", "role": "Key Vault Crypto Service Encryption User", "scope": "/vaults/pykv"}, nil)
	miEnv := append(env, "IDENTITY_ENDPOINT="+ts.IdentityURL+"/msi/token", "IDENTITY_HEADER="+mi["secret"].(string))
	out = runClient(t, time.Minute, miEnv, py, "testdata/py_keyvault.py", "managed")
	if !strings.Contains(out, "managed: all checks passed") {
		t.Fatalf("python managed-identity phase incomplete:\n%s", out)
	}
}
