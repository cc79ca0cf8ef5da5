package e2e

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/atrest/atrest/cse"
	"github.com/atrest/atrest/cse/cseblob"
	"github.com/atrest/atrest/cse/csekv"
)

// TestCSEKeyVaultKEK encrypts blobs under a key in atrest's own Key Vault
// (wrapping locally and through the vault), reads them back directly and
// through the resolver after the key rotates, and checks that a principal
// without the role cannot unwrap.
func TestCSEKeyVaultKEK(t *testing.T) {
	ts := startServer(t)
	c := ctx(t)
	hc := kvTransport(t, ts.CAFile)
	adminDo(t, ts, "vault.create", map[string]any{"name": "csekv"}, nil)
	app := newPrincipal(t, ts, "cse-app", "Key Vault Crypto Officer", "/vaults/csekv")
	cred := goCredential(t, ts, app, hc)
	url := vaultURL(ts, "csekv")
	kc := goKeyClient(t, url, cred, hc)
	if _, err := kc.CreateKey(c, "blobkek", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA), KeySize: to.Ptr(int32(2048))}, nil); err != nil {
		t.Fatal(err)
	}
	az := ts.client(t)
	if _, err := az.CreateContainer(c, "csekv", nil); err != nil {
		t.Fatal(err)
	}
	want := pattern(5<<20+11, "kv")
	for name, o := range map[string]*csekv.Options{"local-wrap": nil, "remote-wrap": {RemoteWrap: true}} {
		kek, err := csekv.New(c, kc, "blobkek", "", o)
		if err != nil {
			t.Fatal(err)
		}
		bc, _ := cseblob.NewClient(az, cseblob.Options{KEK: kek, RequireEncryption: true})
		if _, err := bc.Upload(c, "csekv", name, bytes.NewReader(want), nil); err != nil {
			t.Fatal(err)
		}
		if got := cseDownload(t, bc, name); !bytes.Equal(got, want) {
			t.Fatalf("%s: round trip differs", name)
		}
	}

	// After rotation the current version differs; the resolver still
	// reaches the version the data names.
	if _, err := kc.RotateKey(c, "blobkek", nil); err != nil {
		t.Fatal(err)
	}
	current, err := csekv.New(c, kc, "blobkek", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := &azkeys.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}}
	resolver := &csekv.Resolver{Vaults: []string{url}, Credential: cred, ClientOptions: opts}
	rc, _ := cseblob.NewClient(az, cseblob.Options{KEK: current, Resolver: resolver, RequireEncryption: true})
	if got := cseDownload(t, rc, "local-wrap"); !bytes.Equal(got, want) {
		t.Fatal("resolver read differs")
	}

	// A principal without a role on the vault cannot unwrap: the error is
	// the vault's refusal, not a decryption failure.
	outsider := newPrincipal(t, ts, "cse-outsider", "", "")
	ocred := goCredential(t, ts, outsider, hc)
	or := &csekv.Resolver{Vaults: []string{url}, Credential: ocred, ClientOptions: opts}
	oc, _ := cseblob.NewClient(az, cseblob.Options{Resolver: or, RequireEncryption: true})
	_, err = oc.Download(c, "csekv", "local-wrap", nil)
	if err == nil || errors.Is(err, cse.ErrDecrypt) {
		t.Fatalf("outsider download: %v", err)
	}
	t.Logf("outsider refused: %.120v", err)
}

func cseDownload(t testing.TB, c *cseblob.Client, name string) []byte {
	t.Helper()
	d, err := c.Download(ctx(t), "csekv", name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	b, err := io.ReadAll(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
