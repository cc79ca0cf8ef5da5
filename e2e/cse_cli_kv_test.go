package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// TestCSECLIKeyVault uploads and downloads with "atrest cse" using a key
// in atrest's own Key Vault, with the credentials a user would set.
func TestCSECLIKeyVault(t *testing.T) {
	bin := atrestBinary(t)
	ts := startServer(t)
	c := ctx(t)
	if _, err := ts.client(t).CreateContainer(c, "clikv", nil); err != nil {
		t.Fatal(err)
	}
	hc := kvTransport(t, ts.CAFile)
	adminDo(t, ts, "vault.create", map[string]any{"name": "clikv"}, nil)
	app := newPrincipal(t, ts, "cli-app", "Key Vault Crypto Officer", "/vaults/clikv")
	kc := goKeyClient(t, vaultURL(ts, "clikv"), goCredential(t, ts, app, hc), hc)
	if _, err := kc.CreateKey(c, "clikek", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA), KeySize: to.Ptr(int32(2048))}, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "in.bin"), filepath.Join(dir, "out.bin")
	want := pattern(5<<20+3, "clikv")
	writeFile(t, src, want)
	env := append(os.Environ(), "AZURE_TENANT_ID="+app.TenantID, "AZURE_CLIENT_ID="+app.ClientID, "AZURE_CLIENT_SECRET="+app.Secret,
		"AZURE_AUTHORITY_HOST="+ts.IdentityURL+"/")
	common := []string{"--connection-string", ts.conn, "--container", "clikv", "--name", "b", "--no-progress",
		"--kek-vault-key", vaultURL(ts, "clikv") + "/keys/clikek", "--vault-ca", ts.CAFile}
	for _, args := range [][]string{append(append([]string{"cse", "upload"}, common...), src), append(append([]string{"cse", "download"}, common...), dst)} {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("atrest %s: %v\n%s", strings.Join(args[:2], " "), err, out)
		}
		t.Logf("%s", bytes.TrimSpace(out))
	}
	if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("round trip through the vault KEK differs: %v", err)
	}
}
