package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/hsm"
	"github.com/atrest/atrest/internal/hsm/hsmtest"
	"github.com/atrest/atrest/internal/server"
)

// TestKeysOnPKCS11Token: an account whose key is an AES key on a SoftHSM
// token. Blob, queue and table data work; neither content nor the key's
// bytes reach the data directory; taking the token away makes data
// operations 403 (listings keep working) and putting it back reads the
// same bytes.
func TestKeysOnPKCS11Token(t *testing.T) {
	kek := pattern(32, "hsm-kek")
	tokenDir := hsmtest.SoftToken(t, "e2etoken", "storage-kek", "0b07", kek)
	tok, err := hsm.Open(hsm.Config{Module: hsmtest.Module, PIN: hsmtest.PIN})
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, withHTTPS(), withKeys(server.KeyConfig{CMKCacheTTL: cmkWindow, HSM: tok}))
	t.Cleanup(func() { tok.Close() }) // runs after the server stops

	sub := ts.Mgmt().Subscription()
	path := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/hsmacct"
	var created struct {
		Properties struct {
			Encryption struct {
				KeyVaultProperties struct {
					CurrentVersionedKeyIdentifier string `json:"currentVersionedKeyIdentifier"`
				} `json:"keyvaultproperties"`
			} `json:"encryption"`
		} `json:"properties"`
	}
	jsonUnmarshal(t, operatorARM(t, ts, "PUT", path, map[string]any{"location": "local", "identity": map[string]any{"type": "SystemAssigned"},
		"properties": map[string]any{"encryption": map[string]any{"keySource": "Microsoft.Keyvault",
			"keyvaultproperties": map[string]any{"keyvaulturi": "pkcs11:token=e2etoken", "keyname": "storage-kek"}}}}), &created)
	if id := created.Properties.Encryption.KeyVaultProperties.CurrentVersionedKeyIdentifier; id != "pkcs11:token=e2etoken/keys/storage-kek/0b07" {
		t.Fatalf("current key: %q", id)
	}
	var keys struct{ Keys []struct{ Value string } }
	jsonUnmarshal(t, operatorARM(t, ts, "POST", path+"/listKeys", nil), &keys)
	dc := accountClients(t, ts, "hsmacct", keys.Keys[0].Value)
	cx := ctx(t)
	canary := "HSMCANARY-71d3"
	content := []byte(strings.Repeat(canary+" ", 30000))
	_, err = dc.blob.CreateContainer(cx, "cont1", nil)
	must(t, err)
	_, err = dc.blob.UploadBuffer(cx, "cont1", "doc", content, nil)
	must(t, err)
	_, err = dc.queue.CreateQueue(cx, "queue1", nil)
	must(t, err)
	_, err = dc.queue.NewQueueClient("queue1").EnqueueMessage(cx, canary+"-message", nil)
	must(t, err)

	readBlob := func() string {
		r, err := dc.blob.DownloadStream(cx, "cont1", "doc", nil)
		if err != nil {
			return errorCode(err)
		}
		got, err := readAllClose(r.Body)
		if err != nil || !bytes.Equal(got, content) {
			return "content differs"
		}
		return ""
	}
	readQueue := func() string {
		m, err := dc.queue.NewQueueClient("queue1").PeekMessage(cx, nil)
		if err == nil && (len(m.Messages) != 1 || *m.Messages[0].MessageText != canary+"-message") {
			return "message differs"
		}
		return errorCode(err)
	}
	if got := readBlob() + readQueue(); got != "" {
		t.Fatalf("reads under the token's key: %q", got)
	}
	if hits := scanForPlaintext(t, ts.dir, []string{canary, string(kek), hex.EncodeToString(kek), base64.StdEncoding.EncodeToString(kek)}); len(hits) > 0 {
		t.Fatalf("found in the data directory: %v", hits)
	}

	// the token goes away
	away := tokenDir + ".away"
	if err := os.Rename(tokenDir, away); err != nil {
		t.Fatal(err)
	}
	const notFound = "KeyVaultEncryptionKeyNotFound"
	took := within(t, cmkWindow+3*time.Second, "token removed: blob read", notFound, readBlob)
	t.Logf("token removed: refused after %s (window %s)", took.Round(10*time.Millisecond), cmkWindow)
	if got := readQueue(); got != notFound {
		t.Fatalf("token removed: queue read answered %q", got)
	}
	if _, err := dc.blob.UploadBuffer(cx, "cont1", "new", []byte("x"), nil); errorCode(err) != notFound {
		t.Fatalf("token removed: blob write answered %q", errorCode(err))
	}
	if _, err := dc.blob.NewListContainersPager(nil).NextPage(cx); err != nil {
		t.Fatalf("token removed: list containers: %v", err)
	}
	page, err := dc.blob.ServiceClient().NewContainerClient("cont1").NewListBlobsFlatPager(nil).NextPage(cx)
	if err != nil || len(page.Segment.BlobItems) != 1 {
		t.Fatalf("token removed: list blobs: %v", err)
	}

	// and comes back: the same bytes
	if err := os.Rename(away, tokenDir); err != nil {
		t.Fatal(err)
	}
	within(t, cmkWindow+3*time.Second, "token restored: blob read", "", readBlob)
	if got := readQueue(); got != "" {
		t.Fatalf("token restored: queue read answered %q", got)
	}
	_, err = dc.blob.UploadBuffer(cx, "cont1", "new", []byte("x"), nil)
	must(t, err)
}
