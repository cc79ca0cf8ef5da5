package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/admin"
)

// armClient calls the management API over HTTPS with a token from the
// built-in issuer, as a client of Azure Resource Manager would.
type armClient struct {
	t    testing.TB
	hc   *http.Client
	base string
	cred azcore.TokenCredential
	sub  string
}

func newARMClient(t testing.TB, ts *testServer, c admin.Credentials) *armClient {
	hc := kvTransport(t, ts.CAFile)
	return &armClient{t: t, hc: hc, base: ts.IdentityURL, cred: goCredential(t, ts, c, hc), sub: ts.Mgmt().Subscription()}
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (a *armClient) do(method, path string, body, out any) int {
	a.t.Helper()
	tok, err := a.cred.GetToken(ctx(a.t), policy.TokenRequestOptions{Scopes: []string{a.base + "/.default"}})
	if err != nil {
		a.t.Fatal(err)
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path+"?api-version=2023-05-01", rd)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

// must is do that insists on a 2xx answer.
func (a *armClient) must(method, path string, body, out any) {
	a.t.Helper()
	var raw json.RawMessage
	if st := a.do(method, path, body, &raw); st/100 != 2 {
		a.t.Fatalf("%s %s: %d %s", method, path, st, raw)
	}
	if out != nil {
		json.Unmarshal(raw, out)
	}
}

func (a *armClient) account(rg, name string) string {
	return "/subscriptions/" + a.sub + "/resourceGroups/" + rg + "/providers/Microsoft.Storage/storageAccounts/" + name
}

// operatorARM runs a management call as the operator (the admin socket's
// caller), in-process.
func operatorARM(t testing.TB, ts *testServer, method, path string, body any) []byte {
	t.Helper()
	b, _ := json.Marshal(body)
	req := httptest.NewRequest(method, path+"?api-version=2022-04-01", bytes.NewReader(b))
	rec := httptest.NewRecorder()
	ts.Mgmt().Handler(true).ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		t.Fatalf("operator %s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// grantARM assigns a role (ARM or Key Vault) at scope, as the operator.
func grantARM(t testing.TB, ts *testServer, principalID, roleID, scope string) string {
	t.Helper()
	name := uuid.NewString()
	operatorARM(t, ts, "PUT", scope+"/providers/Microsoft.Authorization/roleAssignments/"+name, map[string]any{
		"properties": map[string]any{"roleDefinitionId": "/subscriptions/" + ts.Mgmt().Subscription() + "/providers/Microsoft.Authorization/roleDefinitions/" + roleID,
			"principalId": principalID}})
	return name
}

const (
	roleContributor       = "b24988ac-6180-49b2-8f06-2dd04d7e1f6a"
	roleCryptoServiceUser = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
)

// accountConn is a connection string for an account on the server.
func accountConn(ts *testServer, name, key string) string {
	return ts.ConnectionString(name, key)
}
