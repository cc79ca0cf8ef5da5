package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/keyvault"
	"github.com/atrest/atrest/internal/server"
)

// roleCryptoServiceUser is Key Vault Crypto Service Encryption User.
const roleCryptoServiceUser = "e147488a-f6f5-4113-8e2d-b22465e65bf6"

// startServer runs atrest in-process with HTTPS storage endpoints.
func startServer(dir string) (*server.Server, error) {
	accts, err := edge.ParseAccounts("")
	if err != nil {
		return nil, err
	}
	return server.Start(server.Config{Host: "127.0.0.1", DataDir: dir, Accounts: accts, HTTPS: true,
		Vault: server.VaultConfig{NoAdminSocket: true},
		Log:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
}

// operator runs a management call as the operator, in-process.
func operator(srv *server.Server, method, path string, body any) ([]byte, error) {
	b, _ := json.Marshal(body)
	req := httptest.NewRequest(method, path+"?api-version=2023-05-01", bytes.NewReader(b))
	rec := httptest.NewRecorder()
	srv.Mgmt().Handler(true).ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	return rec.Body.Bytes(), nil
}

// model is one key model under test: an account (and maybe a scope or a
// customer-provided key) set up the way its users would.
type model struct {
	name    string
	account string
	key     string // shared key
	scope   string // x-ms-encryption-scope on writes
	cpk     bool   // x-ms-encryption-key on every request
}

// setup creates one account per model through the management API.
func setup(srv *server.Server) ([]model, error) {
	sub := srv.Mgmt().Subscription()
	acctPath := func(name string) string {
		return "/subscriptions/" + sub + "/resourceGroups/bench/providers/Microsoft.Storage/storageAccounts/" + name
	}
	create := func(name string, props map[string]any) (string, error) {
		body := map[string]any{"location": "local", "identity": map[string]any{"type": "SystemAssigned"}}
		if props != nil {
			body["properties"] = props
		}
		if _, err := operator(srv, "PUT", acctPath(name), body); err != nil {
			return "", err
		}
		out, err := operator(srv, "POST", acctPath(name)+"/listKeys", nil)
		if err != nil {
			return "", err
		}
		var keys struct{ Keys []struct{ Value string } }
		if err := json.Unmarshal(out, &keys); err != nil || len(keys.Keys) == 0 {
			return "", fmt.Errorf("listKeys %s: %v", name, err)
		}
		return keys.Keys[0].Value, nil
	}
	var ms []model
	add := func(m model, props map[string]any) error {
		k, err := create(m.account, props)
		m.key = k
		ms = append(ms, m)
		return err
	}
	if err := add(model{name: "service-managed", account: "benchsm"}, nil); err != nil {
		return nil, err
	}

	// customer-managed: a vault key the account's identity may wrap with
	vaultPath := "/subscriptions/" + sub + "/resourceGroups/bench/providers/Microsoft.KeyVault/vaults/benchkv"
	if _, err := operator(srv, "PUT", vaultPath, map[string]any{"location": "local", "properties": map[string]any{
		"tenantId": sub, "sku": map[string]any{"family": "A", "name": "standard"}, "softDeleteRetentionInDays": 7}}); err != nil {
		return nil, err
	}
	kb, _ := json.Marshal(map[string]any{"kty": "RSA", "key_size": 2048})
	if _, err := srv.KeyVault().Do(context.Background(), keyvault.Admin(), "CreateKey", "benchkv", "k1", "", kb, nil); err != nil {
		return nil, err
	}
	if err := add(model{name: "customer-managed (warm)", account: "benchcmk"}, nil); err != nil {
		return nil, err
	}
	out, err := operator(srv, "GET", acctPath("benchcmk"), nil)
	if err != nil {
		return nil, err
	}
	var acct struct {
		Identity struct{ PrincipalID string } `json:"identity"`
	}
	json.Unmarshal(out, &acct)
	if _, err := operator(srv, "PUT", vaultPath+"/providers/Microsoft.Authorization/roleAssignments/8d3c1f5e-0b7a-4c55-9a41-6f1d2b7e9c10", map[string]any{
		"properties": map[string]any{"roleDefinitionId": "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + roleCryptoServiceUser,
			"principalId": acct.Identity.PrincipalID}}); err != nil {
		return nil, err
	}
	vaultURL := fmt.Sprintf("https://benchkv.localhost:%d", portOf(srv.VaultURL))
	if _, err := operator(srv, "PATCH", acctPath("benchcmk"), map[string]any{"properties": map[string]any{"encryption": map[string]any{
		"keySource": "Microsoft.Keyvault", "keyvaultproperties": map[string]any{"keyvaulturi": vaultURL, "keyname": "k1"}}}}); err != nil {
		return nil, err
	}

	if err := add(model{name: "customer-provided (CPK)", account: "benchcpk", cpk: true}, nil); err != nil {
		return nil, err
	}
	if err := add(model{name: "encryption scope", account: "benchscope", scope: "scope1"}, nil); err != nil {
		return nil, err
	}
	if _, err := operator(srv, "PUT", acctPath("benchscope")+"/encryptionScopes/scope1", map[string]any{"properties": map[string]any{
		"source": "Microsoft.Storage", "state": "Enabled"}}); err != nil {
		return nil, err
	}
	if err := add(model{name: "double (infrastructure)", account: "benchinfra"}, map[string]any{
		"encryption": map[string]any{"requireInfrastructureEncryption": true}}); err != nil {
		return nil, err
	}
	return ms, nil
}

func portOf(u string) int {
	pu, err := url.Parse(u)
	if err != nil {
		return 0
	}
	port, _ := strconv.Atoi(pu.Port())
	return port
}

// httpsClient trusts the server's local CA.
func httpsClient(caFile string) (*http.Client, error) {
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}}, nil
}

func drain(r io.ReadCloser) (int64, error) {
	defer r.Close()
	return io.Copy(io.Discard, r)
}
