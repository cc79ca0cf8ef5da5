package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/atrest/atrest/cse"
	"github.com/atrest/atrest/cse/csequeue"
	"github.com/atrest/atrest/cse/csetable"
)

// TestPythonCSEQueueTable: queue messages (2.0) and table entities (1.0)
// encrypted by Python decrypt with csequeue/csetable, and the reverse,
// through atrest's Queue and Table services.
func TestPythonCSEQueueTable(t *testing.T) {
	py := debianPython(t)
	ts := startServer(t)
	c := ctx(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kek, err := cse.NewAESKEK("local:e2e-cse-qt", key)
	if err != nil {
		t.Fatal(err)
	}
	qs, tsc := ts.queueClient(t), ts.tableClient(t)
	for _, name := range []string{"csepy", "csego"} {
		if _, err := qs.CreateQueue(c, name, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := tsc.CreateTable(c, name, nil); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"ATREST_CONN=" + ts.conn, "ATREST_KEK=" + hex.EncodeToString(key), "ATREST_KID=local:e2e-cse-qt"}
	out := runClient(t, 2*time.Minute, env, py, "testdata/py_cse_queue_table.py", "write")
	if !strings.Contains(out, "all checks passed") {
		t.Fatalf("python write incomplete:\n%s", out)
	}

	q, _ := csequeue.NewClient(qs.NewQueueClient("csepy"), csequeue.Options{KEK: kek, RequireEncryption: true})
	d, err := q.DequeueMessages(c, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(10))})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range d.Messages {
		got = append(got, *m.MessageText)
	}
	sort.Strings(got)
	if len(got) != 2 || got[0] != "python secret 1" || got[1] != "python sëcret 2 "+strings.Repeat("x", 3000) {
		t.Fatalf("python messages decrypted to %.80q", got)
	}
	tb, _ := csetable.NewClient(tsc.NewClient("csepy"), csetable.Options{KEK: kek, RequireEncryption: true})
	e, err := tb.GetEntity(c, "pk-py", "rk-py", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ent map[string]any
	if err := json.Unmarshal(e.Value, &ent); err != nil {
		t.Fatal(err)
	}
	if ent["SSN"] != "123-45-6789" || ent["Name"] != "Zoë" || ent["City"] != "Bern" {
		t.Fatalf("python entity decrypted to %s", e.Value)
	}

	gq, _ := csequeue.NewClient(qs.NewQueueClient("csego"), csequeue.Options{KEK: kek})
	for _, m := range []string{"go secret 1", "go sëcret 2 " + strings.Repeat("y", 3000)} {
		if _, err := gq.EnqueueMessage(c, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	gt, _ := csetable.NewClient(tsc.NewClient("csego"), csetable.Options{KEK: kek,
		EncryptProperty: func(pk, rk, name string) bool { return name != "City" }})
	body, _ := json.Marshal(aztables.EDMEntity{Entity: aztables.Entity{PartitionKey: "pk-go", RowKey: "rk-go"},
		Properties: map[string]any{"SSN": "987-65-4321", "Name": "Jürg", "City": "Chur"}})
	if _, err := gt.AddEntity(c, body, nil); err != nil {
		t.Fatal(err)
	}
	out = runClient(t, 2*time.Minute, env, py, "testdata/py_cse_queue_table.py", "read")
	if !strings.Contains(out, "all checks passed") {
		t.Fatalf("python read incomplete:\n%s", out)
	}
}
