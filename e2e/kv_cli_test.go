package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/atrest/atrest/internal/admin"
)

// cli runs an atrest command and fails the test unless it succeeds.
func cli(t testing.TB, args ...string) string {
	t.Helper()
	out, err := runAtrest(t, args...)
	if err != nil {
		t.Fatalf("atrest %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// jsonOut decodes the JSON a command printed (ignoring a stderr note).
func jsonOut(t testing.TB, out string, v any) {
	t.Helper()
	if i := strings.IndexAny(out, "{["); i > 0 {
		out = out[i:]
	}
	if j := strings.LastIndexAny(out, "}]"); j >= 0 {
		out = out[:j+1]
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
}

// TestKVCLI drives the operator commands against a running `atrest serve`
// (through the admin socket) and then against the stopped data directory.
func TestKVCLI(t *testing.T) {
	dir := t.TempDir()
	ch := startChild(t, dir)
	d := []string{"--data", dir}
	var info map[string]string
	jsonOut(t, cli(t, append([]string{"identity", "info"}, d...)...), &info)
	if info["tenantId"] == "" || !strings.HasPrefix(info["identityUrl"], "https://localhost:") {
		t.Fatalf("identity info: %v", info)
	}
	cli(t, append([]string{"vault", "create", "clikv", "--retention-days", "7", "--purge-protection"}, d...)...)
	out, err := runAtrest(t, append([]string{"vault", "create", "x"}, d...)...)
	if err == nil || !strings.Contains(out, "vault name") {
		t.Fatalf("bad vault name: %v %s", err, out)
	}
	var cr admin.Credentials
	jsonOut(t, cli(t, append([]string{"principal", "create", "cli-app"}, d...)...), &cr)
	if cr.Secret == "" || cr.TenantID != info["tenantId"] {
		t.Fatalf("principal create: %+v", cr)
	}
	cli(t, append([]string{"role", "assign", "--principal", "cli-app", "--role", "crypto-user", "--vault", "clikv"}, d...)...)
	cli(t, append([]string{"key", "create", "k1", "--vault", "clikv", "--kty", "RSA", "--size", "2048"}, d...)...)
	cli(t, append([]string{"key", "create", "k2", "--vault", "clikv", "--kty", "oct-HSM", "--size", "256"}, d...)...)
	scratch := t.TempDir()
	policy := filepath.Join(scratch, "policy.json")
	os.WriteFile(policy, []byte(`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P90D"}}`), 0o600)
	cli(t, append([]string{"key", "policy", "k2", "--vault", "clikv", "--set", policy}, d...)...)

	// The principal made by the CLI works with the official client.
	hc := kvTransport(t, filepath.Join(dir, "tls", "ca.pem"))
	port := info["vaultUrl"][strings.LastIndex(info["vaultUrl"], ":")+1:]
	kc := goKeyClient(t, "https://clikv.localhost:"+port, goCredentialURL(t, info["identityUrl"], cr, hc), hc)
	get(kc.WrapKey(ctx(t), "k2", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256KW), Value: make([]byte, 32)}, nil))(t)
	_, err = kc.DeleteKey(ctx(t), "k1", nil)
	kvWantCode(t, err, 403, "Forbidden")

	var clk map[string]any
	jsonOut(t, cli(t, append([]string{"clock", "advance", "31d"}, d...)...), &clk)
	if r := clk["sweep"].(map[string]any)["rotated"].([]any); len(r) != 1 || r[0] != "clikv/k2" {
		t.Fatalf("clock advance: %v", clk)
	}
	var versions map[string]any
	jsonOut(t, cli(t, append([]string{"key", "versions", "k2", "--vault", "clikv"}, d...)...), &versions)
	if n := len(versions["value"].([]any)); n != 2 {
		t.Fatalf("%d versions after the time shift", n)
	}
	backup := filepath.Join(scratch, "k1.backup")
	cli(t, append([]string{"key", "backup", "k1", "--vault", "clikv", "--out", backup}, d...)...)
	cli(t, append([]string{"key", "delete", "k1", "--vault", "clikv"}, d...)...)
	out, err = runAtrest(t, append([]string{"key", "purge", "k1", "--vault", "clikv"}, d...)...)
	if err == nil || !strings.Contains(out, "purge protection") {
		t.Fatalf("purge under purge protection: %v %s", err, out)
	}
	cli(t, append([]string{"key", "recover", "k1", "--vault", "clikv"}, d...)...)
	cli(t, append([]string{"vault", "create", "restored"}, d...)...)
	cli(t, append([]string{"key", "restore", "--vault", "restored", "--in", backup}, d...)...)

	audit := cli(t, append([]string{"audit", "--vault", "clikv", "--result", "denied"}, d...)...)
	if lines := strings.Split(strings.TrimSpace(audit), "\n"); len(lines) != 1 || !strings.Contains(lines[0], `"operation":"DeleteKey"`) || !strings.Contains(lines[0], cr.ObjectID) {
		t.Fatalf("denied events: %s", audit)
	}
	if err := ch.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("serve exit: %v", err)
	}

	// Stopped: the same commands open the data directory directly.
	var keys map[string]any
	jsonOut(t, cli(t, append([]string{"key", "list", "--vault", "restored"}, d...)...), &keys)
	if n := len(keys["value"].([]any)); n != 1 {
		t.Fatalf("offline key list: %v", keys)
	}
	all := cli(t, append([]string{"audit", "--key", "k2", "--op", "WrapKey"}, d...)...)
	if !strings.Contains(all, `"result":"allowed"`) || !strings.Contains(all, `"algorithm":"A256KW"`) {
		t.Fatalf("offline audit: %s", all)
	}
	rot := cli(t, append([]string{"audit", "--caller", "service"}, d...)...)
	if !strings.Contains(rot, `"operation":"RotateKey"`) {
		t.Fatalf("automatic rotation not audited: %s", rot)
	}
}
