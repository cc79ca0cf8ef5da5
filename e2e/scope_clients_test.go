package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// devScope creates an encryption scope on the development account.
func devScope(t testing.TB, ts *testServer, name string) {
	t.Helper()
	operatorARM(t, ts, "PUT", "/subscriptions/"+ts.Mgmt().Subscription()+"/resourceGroups/atrest/providers/Microsoft.Storage/storageAccounts/devstoreaccount1/encryptionScopes/"+name,
		map[string]any{"properties": map[string]any{"source": "Microsoft.Storage"}})
}

// TestPythonEncryptionScopes: encryption_scope= and ContainerEncryptionScope.
func TestPythonEncryptionScopes(t *testing.T) {
	py := debianPython(t)
	ts := startServer(t)
	devScope(t, ts, "pyscope")
	devScope(t, ts, "pyscope2")
	canary := "PYSCOPECANARY-0c1d"
	out := runClient(t, 2*time.Minute, []string{"ATREST_CONN=" + ts.conn, "ATREST_CANARY=" + canary}, py, "testdata/py_scopes.py")
	if !strings.Contains(out, "python scopes: all checks passed") {
		t.Fatalf("python run incomplete:\n%s", out)
	}
	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}

// TestAzEncryptionScopes: az storage container create
// --default-encryption-scope/--prevent-encryption-scope-override and az
// storage blob upload --encryption-scope, checked with the Go SDK.
func TestAzEncryptionScopes(t *testing.T) {
	azPath := azCLI(t)
	ts := startServer(t)
	devScope(t, ts, "azscope")
	devScope(t, ts, "azscope2")
	work := t.TempDir()
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + ts.conn, "AZURE_CORE_COLLECT_TELEMETRY=false",
		"AZURE_CONFIG_DIR=" + filepath.Join(work, "azcfg"), "AZURE_CORE_NO_COLOR=true", "AZURE_CORE_ONLY_SHOW_ERRORS=true"}
	az := func(args ...string) string {
		t.Helper()
		return runClient(t, 2*time.Minute, env, azPath, append([]string{"storage"}, args...)...)
	}
	canary := "AZSCOPECANARY-77e0"
	src := filepath.Join(work, "in.txt")
	os.WriteFile(src, []byte(canary), 0o600)
	az("container", "create", "-n", "azscoped", "-d", "azscope", "-p", "true")
	az("container", "create", "-n", "azopen")
	az("blob", "upload", "-c", "azscoped", "-n", "a", "-f", src)
	az("blob", "upload", "-c", "azopen", "-n", "b", "-f", src, "--encryption-scope", "azscope2")

	cx := ctx(t)
	c := ts.client(t)
	cp, err := c.ServiceClient().NewContainerClient("azscoped").GetProperties(cx, nil)
	must(t, err)
	if *cp.DefaultEncryptionScope != "azscope" || !*cp.DenyEncryptionScopeOverride {
		t.Fatalf("container made by az: %s %v", *cp.DefaultEncryptionScope, *cp.DenyEncryptionScopeOverride)
	}
	for _, b := range []struct{ c, n, scope string }{{"azscoped", "a", "azscope"}, {"azopen", "b", "azscope2"}} {
		p, err := c.ServiceClient().NewContainerClient(b.c).NewBlobClient(b.n).GetProperties(cx, nil)
		must(t, err)
		if p.EncryptionScope == nil || *p.EncryptionScope != b.scope {
			t.Fatalf("blob %s/%s uploaded by az: scope %v", b.c, b.n, p.EncryptionScope)
		}
	}
	_, err = c.ServiceClient().NewContainerClient("azscoped").NewBlockBlobClient("x").UploadBuffer(cx, []byte("x"), nil)
	must(t, err)
	if out := az("blob", "show", "-c", "azopen", "-n", "b"); !strings.Contains(out, "azscope2") {
		t.Fatalf("az blob show does not report the scope:\n%s", out)
	}
	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}
