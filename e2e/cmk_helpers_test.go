package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/atrest/atrest/internal/keyvault"
	"github.com/atrest/atrest/internal/server"
)

func withKeys(kc server.KeyConfig) serverOpt { return func(c *server.Config) { c.Keys = kc } }

// kvAdmin runs a Key Vault operation as the administrator.
func kvAdmin(t testing.TB, ts *testServer, op, vault, key, version string, body any) {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	if _, err := ts.KeyVault().Do(context.Background(), keyvault.Admin(), op, vault, key, version, b, nil); err != nil {
		t.Fatalf("%s %s/%s: %v", op, vault, key, err)
	}
}

// cmkSetup makes vault, key and an account with a system-assigned
// identity holding Key Vault Crypto Service Encryption User on the vault,
// and returns the account's ARM path, its key and the role assignment.
func cmkSetup(t testing.TB, ts *testServer, vault, key, acct string) (path, sharedKey, assignment string) {
	t.Helper()
	sub := ts.Mgmt().Subscription()
	vaultPath := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/" + vault
	operatorARM(t, ts, "PUT", vaultPath, map[string]any{"location": "local", "properties": map[string]any{
		"tenantId": sub, "sku": map[string]any{"family": "A", "name": "standard"}, "softDeleteRetentionInDays": 7}})
	kvAdmin(t, ts, "CreateKey", vault, key, "", map[string]any{"kty": "RSA", "key_size": 2048})
	path = "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/" + acct
	var created struct {
		Identity struct{ PrincipalID string } `json:"identity"`
	}
	json.Unmarshal(operatorARM(t, ts, "PUT", path, map[string]any{"location": "local", "identity": map[string]any{"type": "SystemAssigned"}}), &created)
	assignment = grantARM(t, ts, created.Identity.PrincipalID, roleCryptoServiceUser, vaultPath)
	var keys struct{ Keys []struct{ Value string } }
	json.Unmarshal(operatorARM(t, ts, "POST", path+"/listKeys", nil), &keys)
	return path, keys.Keys[0].Value, assignment
}

// useCMK switches an account to a customer-managed key.
func useCMK(t testing.TB, ts *testServer, path, vault, key, version string) {
	t.Helper()
	operatorARM(t, ts, "PATCH", path, map[string]any{"properties": map[string]any{"encryption": map[string]any{
		"keySource": "Microsoft.Keyvault", "keyvaultproperties": map[string]any{"keyvaulturi": vaultURL(ts, vault), "keyname": key, "keyversion": version}}}})
}

// dataClients are the three official Go clients for one account.
type dataClients struct {
	blob  *azblob.Client
	queue *azqueue.ServiceClient
	table *aztables.ServiceClient
}

func accountClients(t testing.TB, ts *testServer, acct, key string) dataClients {
	t.Helper()
	opts := azcore.ClientOptions{Transport: kvTransport(t, ts.CAFile), Retry: policy.RetryOptions{MaxRetries: -1}}
	conn := accountConn(ts, acct, key)
	b, err := azblob.NewClientFromConnectionString(conn, &azblob.ClientOptions{ClientOptions: opts})
	must(t, err)
	q, err := azqueue.NewServiceClientFromConnectionString(conn, &azqueue.ClientOptions{ClientOptions: opts})
	must(t, err)
	tb, err := aztables.NewServiceClientFromConnectionString(conn, &aztables.ClientOptions{ClientOptions: opts})
	must(t, err)
	return dataClients{b, q, tb}
}

// errorCode is the service's error code of err ("" for success).
func errorCode(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return re.ErrorCode
		}
		return http.StatusText(re.StatusCode)
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// within polls fn until it returns want, failing after limit.
func within(t testing.TB, limit time.Duration, what, want string, fn func() string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := fn()
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: still %q after %s, want %q", what, got, limit, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jsonUnmarshal(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}
