package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// TestBearerQueueAndTableRoles: the queue and table data roles against the
// official azqueue and aztables clients with tokens from the built-in issuer.
func TestBearerQueueAndTableRoles(t *testing.T) {
	ts := startServer(t, withHTTPS())
	hc := kvTransport(t, ts.CAFile)
	cx := ctx(t)
	opts := azcore.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}
	// the owner prepares a queue and a table with the account key
	oq, err := azqueue.NewServiceClientFromConnectionString(ts.conn, &azqueue.ClientOptions{ClientOptions: opts})
	must(t, err)
	_, err = oq.CreateQueue(cx, "jobs", nil)
	must(t, err)
	ot, err := aztables.NewServiceClientFromConnectionString(ts.conn, &aztables.ClientOptions{ClientOptions: opts})
	must(t, err)
	_, err = ot.CreateTable(cx, "people", nil)
	must(t, err)
	ent, _ := json.Marshal(map[string]any{"PartitionKey": "p", "RowKey": "r0", "name": "first"})
	_, err = ot.NewClient("people").AddEntity(cx, ent, nil)
	must(t, err)

	acct := "/storageaccounts/devstoreaccount1"
	forbidden := func(err error) bool {
		return err != nil && strings.Contains(err.Error(), "AuthorizationPermissionMismatch")
	}
	queueAs := func(role string) *azqueue.QueueClient {
		creds := newPrincipal(t, ts, "q-"+strings.ReplaceAll(strings.ToLower(role), " ", "-"), role, acct+"/queues/jobs")
		sc, err := azqueue.NewServiceClient(ts.QueueURL+"/devstoreaccount1", goCredential(t, ts, creds, hc), &azqueue.ClientOptions{ClientOptions: opts})
		must(t, err)
		return sc.NewQueueClient("jobs")
	}
	sender := queueAs("Storage Queue Data Message Sender")
	if _, err := sender.EnqueueMessage(cx, "from the sender", nil); err != nil {
		t.Fatalf("sender enqueue: %v", err)
	}
	if _, err := sender.DequeueMessage(cx, nil); !forbidden(err) {
		t.Fatalf("sender dequeue: %v", err)
	}
	reader := queueAs("Storage Queue Data Reader")
	if pk, err := reader.PeekMessage(cx, nil); err != nil || len(pk.Messages) != 1 {
		t.Fatalf("reader peek: %v", err)
	}
	if _, err := reader.DequeueMessage(cx, nil); !forbidden(err) {
		t.Fatalf("reader dequeue: %v", err)
	}
	processor := queueAs("Storage Queue Data Message Processor")
	m, err := processor.DequeueMessage(cx, nil)
	if err != nil || len(m.Messages) != 1 || *m.Messages[0].MessageText != "from the sender" {
		t.Fatalf("processor dequeue: %v", err)
	}
	if _, err := processor.DeleteMessage(cx, *m.Messages[0].MessageID, *m.Messages[0].PopReceipt, nil); err != nil {
		t.Fatalf("processor delete: %v", err)
	}
	if _, err := processor.EnqueueMessage(cx, "x", nil); !forbidden(err) {
		t.Fatalf("processor enqueue: %v", err)
	}

	tableAs := func(role string) *aztables.Client {
		creds := newPrincipal(t, ts, "t-"+strings.ReplaceAll(strings.ToLower(role), " ", "-"), role, acct+"/tables/people")
		sc, err := aztables.NewServiceClient(ts.TableURL+"/devstoreaccount1", goCredential(t, ts, creds, hc), &aztables.ClientOptions{ClientOptions: opts})
		must(t, err)
		return sc.NewClient("people")
	}
	treader := tableAs("Storage Table Data Reader")
	got, err := treader.GetEntity(cx, "p", "r0", nil)
	if err != nil || !strings.Contains(string(got.Value), "first") {
		t.Fatalf("table reader get: %v", err)
	}
	ent, _ = json.Marshal(map[string]any{"PartitionKey": "p", "RowKey": "r1"})
	if _, err := treader.AddEntity(cx, ent, nil); !forbidden(err) {
		t.Fatalf("table reader insert: %v", err)
	}
	writer := tableAs("Storage Table Data Contributor")
	for i := 1; i <= 3; i++ {
		ent, _ := json.Marshal(map[string]any{"PartitionKey": "p", "RowKey": fmt.Sprint("r", i)})
		if _, err := writer.AddEntity(cx, ent, nil); err != nil {
			t.Fatalf("table contributor insert: %v", err)
		}
	}
	if _, err := writer.DeleteEntity(cx, "p", "r1", nil); err != nil {
		t.Fatalf("table contributor delete: %v", err)
	}
	// a role on one table says nothing about another
	_, err = ot.CreateTable(cx, "other", nil)
	must(t, err)
	sc, _ := aztables.NewServiceClient(ts.TableURL+"/devstoreaccount1", goCredential(t, ts, newPrincipal(t, ts, "t-scoped2", "Storage Table Data Reader", acct+"/tables/people"), hc), &aztables.ClientOptions{ClientOptions: opts})
	if _, err := sc.NewClient("other").GetEntity(cx, "p", "r0", nil); !forbidden(err) {
		t.Fatalf("reader of people reading other: %v", err)
	}
}
