package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/rewrap"
	"github.com/atrest/atrest/internal/server"
)

// TestCustomerManagedKeyRotation: rotate the Key Vault key (a new
// version), follow it now, run the rewrap job, disable the old version:
// blobs, messages and entities all stay readable and no content
// ciphertext changed (the new version re-wrapped only the intermediate
// key); the job finds every data key current.
func TestCustomerManagedKeyRotation(t *testing.T) {
	ts := startServer(t, withHTTPS(), withKeys(server.KeyConfig{CMKCacheTTL: cmkWindow}))
	cx := ctx(t)
	const acct, owner = "rotacct", "account/rotacct"
	path, key, _ := cmkSetup(t, ts, "rotv", "k1", acct)
	useCMK(t, ts, path, "rotv", "k1", "")
	waitRewrapDone(t, ts, acct) // the switch from the service-managed key
	dc := accountClients(t, ts, acct, key)
	_, err := dc.blob.CreateContainer(cx, "cont1", nil)
	must(t, err)
	blobs := map[string][]byte{}
	for i := range 6 {
		name := fmt.Sprint("doc", i)
		blobs[name] = pattern(100<<10+i*150<<10, name)
		_, err := dc.blob.UploadBuffer(cx, "cont1", name, blobs[name], nil)
		must(t, err)
	}
	_, err = dc.queue.CreateQueue(cx, "queue1", nil)
	must(t, err)
	_, err = dc.queue.NewQueueClient("queue1").EnqueueMessage(cx, "rotation message", nil)
	must(t, err)
	_, err = dc.table.CreateTable(cx, "table1", nil)
	must(t, err)
	_, err = dc.table.NewClient("table1").AddEntity(cx, []byte(`{"PartitionKey":"p","RowKey":"r","v":"rotation entity"}`), nil)
	must(t, err)
	oldVersion := ts.CMK().CurrentVersion(owner)
	before := extentBodies(t, ts.dir)
	if len(before) == 0 || oldVersion == "" {
		t.Fatalf("setup: %d extent files, version %q", len(before), oldVersion)
	}

	kvAdmin(t, ts, "RotateKey", "rotv", "k1", "", nil)
	if moved, err := ts.CMK().Follow(owner); err != nil || !moved {
		t.Fatalf("follow the new version: %v %v", moved, err)
	}
	if v := ts.CMK().CurrentVersion(owner); v == oldVersion || v == "" {
		t.Fatalf("intermediate key still wrapped by %q", v)
	}
	target, err := ts.Accounts().RewrapTarget(acct)
	must(t, err)
	rep, err := rewrap.Run(cx, ts.Stores.DB, ts.Stores.Keys, target, rewrap.Options{Account: acct, Batch: 5})
	must(t, err)
	if rep.Stats.Rewrapped != 0 || rep.Stats.Unavailable != 0 || rep.Stats.Current == 0 {
		t.Fatalf("rewrap after a new version: %+v", rep.Stats)
	}

	kvAdmin(t, ts, "UpdateKey", "rotv", "k1", oldVersion, map[string]any{"attributes": map[string]any{"enabled": false}})
	ts.CMK().Drop() // as if the window had passed: the next use asks the vault
	for name, b := range blobs {
		r, err := dc.blob.DownloadStream(cx, "cont1", name, nil)
		must(t, err)
		if got, _ := readAllClose(r.Body); !bytes.Equal(got, b) {
			t.Fatalf("%s differs after rotation", name)
		}
	}
	m, err := dc.queue.NewQueueClient("queue1").PeekMessage(cx, nil)
	must(t, err)
	if len(m.Messages) != 1 || *m.Messages[0].MessageText != "rotation message" {
		t.Fatalf("message after rotation: %+v", m.Messages)
	}
	e, err := dc.table.NewClient("table1").GetEntity(cx, "p", "r", nil)
	must(t, err)
	if !strings.Contains(string(e.Value), "rotation entity") {
		t.Fatalf("entity after rotation: %s", e.Value)
	}
	_, err = dc.blob.UploadBuffer(cx, "cont1", "after", []byte("new write"), nil)
	must(t, err)
	after := extentBodies(t, ts.dir)
	for id, b := range before {
		if !bytes.Equal(after[id], b) {
			t.Fatalf("extent %s: content ciphertext changed by a key rotation", id)
		}
	}
}

// waitRewrapDone waits for the background rewrap job of an account.
func waitRewrapDone(t testing.TB, ts *testServer, acct string) {
	t.Helper()
	within(t, 20*time.Second, "background rewrap", "done", func() string {
		st, err := rewrap.Load(ts.Stores.DB, acct)
		if err != nil || st == nil {
			return fmt.Sprint(err)
		}
		return st.Phase
	})
}
