package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/admin"
)

// TestAzAuthModeLogin: az logs in with a service principal of the built-in
// issuer through a custom cloud, then uses the Blob service with
// --auth-mode login, authorized by the principal's storage data role.
func TestAzAuthModeLogin(t *testing.T) {
	azPath := azCLI(t)
	ts := startServer(t, withHTTPS())
	creds := newPrincipal(t, ts, "az-app", "Storage Blob Data Contributor", "/storageaccounts/devstoreaccount1")
	// az lists the subscriptions it may use at login: a management Reader role
	grantARM(t, ts, creds.ObjectID, "acdd72a7-3385-48ef-bd42-f606fba81ae7", "/subscriptions/"+ts.Mgmt().Subscription())
	az, work := azLogin(t, azPath, ts, creds)
	blob := ts.BlobURL + "/devstoreaccount1"
	src := filepath.Join(work, "in.txt")
	writeFile(t, src, []byte("uploaded with a token"))
	az("storage", "container", "create", "-n", "azlogin", "--blob-endpoint", blob, "--auth-mode", "login")
	az("storage", "blob", "upload", "-c", "azlogin", "-n", "a.txt", "-f", src, "--blob-endpoint", blob, "--auth-mode", "login")
	dst := filepath.Join(work, "out.txt")
	az("storage", "blob", "download", "-c", "azlogin", "-n", "a.txt", "-f", dst, "--blob-endpoint", blob, "--auth-mode", "login")
	if got, _ := os.ReadFile(dst); string(got) != "uploaded with a token" {
		t.Fatalf("downloaded %q", got)
	}
	list := az("storage", "blob", "list", "-c", "azlogin", "--blob-endpoint", blob, "--auth-mode", "login", "--query", "[].name", "-o", "tsv")
	if strings.TrimSpace(list) != "a.txt" {
		t.Fatalf("list: %q", list)
	}
}

// azLogin registers a custom cloud whose authority and Resource Manager are
// the identity listener, logs az in there as a service principal, and
// returns a runner of az commands in that configuration and its work
// directory.
func azLogin(t *testing.T, azPath string, ts *testServer, creds admin.Credentials) (func(args ...string) string, string) {
	t.Helper()
	id := strings.TrimPrefix(ts.IdentityURL, "https://127.0.0.1:")
	vault := strings.TrimPrefix(ts.VaultURL, "https://127.0.0.1:")
	work := t.TempDir()
	env := []string{"REQUESTS_CA_BUNDLE=" + ts.CAFile, "AZURE_CONFIG_DIR=" + filepath.Join(work, "cfg"),
		"AZURE_CORE_COLLECT_TELEMETRY=false", "AZURE_CORE_ONLY_SHOW_ERRORS=true"}
	az := func(args ...string) string {
		t.Helper()
		return runClient(t, 2*time.Minute, env, azPath, args...)
	}
	// the ADFS-style authority makes MSAL skip instance discovery (offline)
	az("cloud", "register", "-n", "atrest", "--endpoint-active-directory", "https://localhost:"+id+"/adfs",
		"--endpoint-resource-manager", "https://localhost:"+id+"/", "--endpoint-active-directory-resource-id", "https://localhost:"+id+"/",
		"--endpoint-active-directory-graph-resource-id", "https://localhost:"+id+"/graph/",
		"--suffix-keyvault-dns", ".localhost:"+vault, "--suffix-storage-endpoint", "localhost")
	az("cloud", "set", "-n", "atrest")
	az("login", "--service-principal", "-u", creds.ClientID, "-p", creds.Secret, "--tenant", creds.TenantID)
	return az, work
}
