package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/atrest/atrest/internal/admin"
)

// kvTransport trusts the server's local CA and sends {vault}.localhost to
// the loopback address, which is what a hosts entry or nss-myhostname does
// for a user (*.localhost does not resolve on this machine).
func kvTransport(t testing.TB, caFile string) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no CA certificate in " + caFile)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err == nil && strings.HasSuffix(host, ".localhost") {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// adminDo runs an operator command in-process and decodes its result.
func adminDo(t testing.TB, ts *testServer, cmd string, args any, out any) {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ts.Admin().Do(context.Background(), cmd, b)
	if err != nil {
		t.Fatalf("admin %s: %v", cmd, err)
	}
	if out != nil {
		rb, _ := json.Marshal(res)
		if err := json.Unmarshal(rb, out); err != nil {
			t.Fatal(err)
		}
	}
}

// newPrincipal creates a service principal with a role at scope.
func newPrincipal(t testing.TB, ts *testServer, name, role, scope string) admin.Credentials {
	t.Helper()
	var c admin.Credentials
	adminDo(t, ts, "principal.create", map[string]any{"name": name}, &c)
	if role != "" {
		adminDo(t, ts, "role.assign", map[string]any{"principal": name, "role": role, "scope": scope}, nil)
	}
	return c
}

func goCredential(t testing.TB, ts *testServer, c admin.Credentials, hc *http.Client) azcore.TokenCredential {
	t.Helper()
	return goCredentialURL(t, ts.IdentityURL, c, hc)
}

// goCredentialURL is an azidentity ClientSecretCredential whose authority
// host is the issuer at identityURL.
func goCredentialURL(t testing.TB, identityURL string, c admin.Credentials, hc *http.Client) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: identityURL + "/"}, Transport: hc},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// vaultURL is https://{vault}.localhost:{port} of the running server.
func vaultURL(ts *testServer, vault string) string {
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.VaultURL, "https://"))
	return "https://" + vault + ".localhost:" + port
}

func goKeyClient(t testing.TB, url string, cred azcore.TokenCredential, hc *http.Client) *azkeys.Client {
	t.Helper()
	c, err := azkeys.NewClient(url, cred, &azkeys.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// base64Std rewrites base64url as standard base64 with padding, as
// encoding/json expects for []byte.
func base64Std(s string) string {
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	for len(s)%4 != 0 {
		s += "="
	}
	return s
}
