package e2e

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/atrest/atrest/internal/server"
)

// cmkWindow is the revocation window the tests run with (the server's
// CMKCacheTTL); the default is five minutes.
const cmkWindow = time.Second

// TestCustomerManagedKeyRevocation writes under a Key Vault key and revokes
// it three ways — disabling the key, removing the account identity's role,
// deleting the key — each biting within the window and undone without
// loss; then deletes and purges it: crypto-erasure, which verify reports.
func TestCustomerManagedKeyRevocation(t *testing.T) {
	ts := startServer(t, withHTTPS(), withKeys(server.KeyConfig{CMKCacheTTL: cmkWindow}))
	cx := ctx(t)
	path, key, assignment := cmkSetup(t, ts, "cmkv", "k1", "cmkacct")
	useCMK(t, ts, path, "cmkv", "k1", "")
	dc := accountClients(t, ts, "cmkacct", key)
	canary := "CMKCANARY-5b2c"
	content := []byte(strings.Repeat(canary+" ", 40000))
	_, err := dc.blob.CreateContainer(cx, "cont1", nil)
	must(t, err)
	_, err = dc.blob.UploadBuffer(cx, "cont1", "doc", content, nil)
	must(t, err)
	_, err = dc.queue.CreateQueue(cx, "queue1", nil)
	must(t, err)
	_, err = dc.queue.NewQueueClient("queue1").EnqueueMessage(cx, canary+"-message", nil)
	must(t, err)
	_, err = dc.table.CreateTable(cx, "table1", nil)
	must(t, err)
	ent := []byte(`{"PartitionKey":"p","RowKey":"r","secret":"` + canary + `-entity"}`)
	_, err = dc.table.NewClient("table1").AddEntity(cx, ent, nil)
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
	writeBlob := func() string {
		_, err := dc.blob.UploadBuffer(cx, "cont1", "new", []byte("x"), nil)
		return errorCode(err)
	}
	readQueue := func() string {
		m, err := dc.queue.NewQueueClient("queue1").PeekMessage(cx, nil)
		if err == nil && (len(m.Messages) != 1 || *m.Messages[0].MessageText != canary+"-message") {
			return "message differs"
		}
		return errorCode(err)
	}
	readTable := func() string {
		e, err := dc.table.NewClient("table1").GetEntity(cx, "p", "r", nil)
		if err == nil && !bytes.Contains(e.Value, []byte(canary+"-entity")) {
			return "entity differs"
		}
		return errorCode(err)
	}
	writeTable := func() string {
		_, err := dc.table.NewClient("table1").UpsertEntity(cx, []byte(`{"PartitionKey":"p","RowKey":"r2"}`), &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
		return errorCode(err)
	}
	const notFound = "KeyVaultEncryptionKeyNotFound"
	limit := cmkWindow + 3*time.Second
	revoked := func(how string) {
		t.Helper()
		took := within(t, limit, how+": blob read", notFound, readBlob)
		t.Logf("%s: refused after %s (window %s)", how, took.Round(10*time.Millisecond), cmkWindow)
		for name, fn := range map[string]func() string{"blob write": writeBlob, "queue read": readQueue, "table read": readTable, "table write": writeTable} {
			if got := fn(); got != notFound {
				t.Fatalf("%s: %s answered %q", how, name, got)
			}
		}
		// what needs no key keeps working
		if _, err := dc.blob.NewListContainersPager(nil).NextPage(cx); err != nil {
			t.Fatalf("%s: list containers: %v", how, err)
		}
		if _, err := dc.blob.ServiceClient().NewContainerClient("cont1").NewListBlobsFlatPager(nil).NextPage(cx); err != nil {
			t.Fatalf("%s: list blobs: %v", how, err)
		}
		if _, err := dc.blob.ServiceClient().NewContainerClient("cont1").GetProperties(cx, nil); err != nil {
			t.Fatalf("%s: container properties: %v", how, err)
		}
		if _, err := dc.queue.NewListQueuesPager(nil).NextPage(cx); err != nil {
			t.Fatalf("%s: list queues: %v", how, err)
		}
		if _, err := dc.table.NewListTablesPager(nil).NextPage(cx); err != nil {
			t.Fatalf("%s: list tables: %v", how, err)
		}
	}
	restored := func(how string) {
		t.Helper()
		within(t, limit, how+": blob read", "", readBlob)
		for name, fn := range map[string]func() string{"queue read": readQueue, "table read": readTable, "blob write": writeBlob} {
			if got := fn(); got != "" {
				t.Fatalf("%s: %s answered %q", how, name, got)
			}
		}
	}
	restored("before revocation")

	kvAdmin(t, ts, "UpdateKey", "cmkv", "k1", "", map[string]any{"attributes": map[string]any{"enabled": false}})
	revoked("key disabled")
	kvAdmin(t, ts, "UpdateKey", "cmkv", "k1", "", map[string]any{"attributes": map[string]any{"enabled": true}})
	restored("key re-enabled")

	sub := ts.Mgmt().Subscription()
	vaultPath := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/cmkv"
	operatorARM(t, ts, "DELETE", vaultPath+"/providers/Microsoft.Authorization/roleAssignments/"+assignment, nil)
	revoked("role removed")
	var acct struct {
		Identity struct{ PrincipalID string } `json:"identity"`
	}
	jsonUnmarshal(t, operatorARM(t, ts, "GET", path, nil), &acct)
	grantARM(t, ts, acct.Identity.PrincipalID, roleCryptoServiceUser, vaultPath)
	restored("role granted again")

	kvAdmin(t, ts, "DeleteKey", "cmkv", "k1", "", nil)
	revoked("key deleted")
	kvAdmin(t, ts, "RecoverDeletedKey", "cmkv", "k1", "", nil)
	restored("key recovered")

	// crypto-erasure: delete and purge
	_, err = dc.blob.ServiceClient().NewContainerClient("cont1").NewBlobClient("doc").GetProperties(cx, &blob.GetPropertiesOptions{})
	must(t, err)
	kvAdmin(t, ts, "DeleteKey", "cmkv", "k1", "", nil)
	kvAdmin(t, ts, "PurgeDeletedKey", "cmkv", "k1", "", nil)
	revoked("key purged")
	time.Sleep(cmkWindow + 200*time.Millisecond)
	if got := readBlob(); got != notFound {
		t.Fatalf("purged key: blob read answered %q", got)
	}
	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
	out, err := runAtrest(t, "verify", "--data", ts.dir)
	if err == nil || !strings.Contains(out, "UNRECOVERABLE (key purged or lost): extent") {
		t.Fatalf("verify after purge: %v\n%s", err, out)
	}
	if strings.Contains(out, "FAILED AUTHENTICATION") {
		t.Fatalf("verify reports tampering instead of an unavailable key:\n%s", out)
	}
}

// TestVerifyTellsUnavailableFromPurged: atrest verify on a stopped server
// calls objects under a disabled or soft-deleted key unavailable (they come
// back with the key), and only those under a purged key unrecoverable.
func TestVerifyTellsUnavailableFromPurged(t *testing.T) {
	ts := startServer(t, withHTTPS(), withKeys(server.KeyConfig{CMKCacheTTL: cmkWindow}))
	dir := ts.dir
	path, key, _ := cmkSetup(t, ts, "verkv", "k1", "veracct")
	useCMK(t, ts, path, "verkv", "k1", "")
	dc := accountClients(t, ts, "veracct", key)
	_, err := dc.blob.CreateContainer(ctx(t), "vercont", nil)
	must(t, err)
	_, err = dc.blob.UploadBuffer(ctx(t), "vercont", "doc", bytes.Repeat([]byte("v"), 300<<10), nil)
	must(t, err)
	verifyAfter := func(how string, change func(*testServer), want, not string) {
		t.Helper()
		ts := startServerAt(t, dir, withHTTPS(), withKeys(server.KeyConfig{CMKCacheTTL: cmkWindow}))
		change(ts)
		ts.stop()
		out, err := runAtrest(t, "verify", "--data", dir)
		if err == nil || !strings.Contains(out, want) || strings.Contains(out, not) {
			t.Fatalf("verify with the key %s: %v\n%s", how, err, out)
		}
	}
	ts.stop()
	verifyAfter("disabled", func(ts *testServer) {
		kvAdmin(t, ts, "UpdateKey", "verkv", "k1", "", map[string]any{"attributes": map[string]any{"enabled": false}})
	}, "UNAVAILABLE (key disabled", "UNRECOVERABLE")
	verifyAfter("soft-deleted", func(ts *testServer) {
		kvAdmin(t, ts, "UpdateKey", "verkv", "k1", "", map[string]any{"attributes": map[string]any{"enabled": true}})
		kvAdmin(t, ts, "DeleteKey", "verkv", "k1", "", nil)
	}, "UNAVAILABLE (key disabled", "UNRECOVERABLE")
	verifyAfter("purged", func(ts *testServer) {
		kvAdmin(t, ts, "PurgeDeletedKey", "verkv", "k1", "", nil)
	}, "UNRECOVERABLE (key purged or lost): extent", "UNAVAILABLE")
}
