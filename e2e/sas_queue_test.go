package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/sas"
)

// TestQueueSAS: service SAS per permission against queue message operations
// with the official azqueue client.
func TestQueueSAS(t *testing.T) {
	ts := startServer(t)
	cx := ctx(t)
	// fresh options per client: the SDK adds its shared-key policy to the
	// options it is given, and that would sign the SAS clients' requests too
	opts := func() *azqueue.ClientOptions {
		return &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	}
	owner, err := azqueue.NewServiceClientFromConnectionString(ts.conn, opts())
	must(t, err)
	_, err = owner.CreateQueue(cx, "sasq", nil)
	must(t, err)
	cred, err := azqueue.NewSharedKeyCredential("devstoreaccount1", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
	must(t, err)
	queueWith := func(perm string) *azqueue.QueueClient {
		qp, err := sas.QueueSignatureValues{QueueName: "sasq", Permissions: perm, ExpiryTime: time.Now().Add(time.Hour)}.SignWithSharedKey(cred)
		must(t, err)
		q, err := azqueue.NewQueueClientWithNoCredential(ts.QueueURL+"/devstoreaccount1/sasq?"+qp.Encode(), opts())
		must(t, err)
		return q
	}
	denied := func(err error) bool {
		return err != nil && strings.Contains(err.Error(), "AuthorizationPermissionMismatch")
	}
	add := queueWith("a")
	if _, err := add.EnqueueMessage(cx, "one", nil); err != nil {
		t.Fatalf("sp=a enqueue: %v", err)
	}
	if pk, err := add.PeekMessage(cx, nil); !denied(err) {
		t.Fatalf("sp=a peek: %v %+v", err, pk)
	}
	read := queueWith("r")
	if pk, err := read.PeekMessage(cx, nil); err != nil || len(pk.Messages) != 1 {
		t.Fatalf("sp=r peek: %v", err)
	}
	if _, err := read.DequeueMessage(cx, nil); !denied(err) {
		t.Fatalf("sp=r dequeue: %v", err)
	}
	proc := queueWith("p")
	m, err := proc.DequeueMessage(cx, nil)
	if err != nil || len(m.Messages) != 1 {
		t.Fatalf("sp=p dequeue: %v", err)
	}
	if _, err := proc.DeleteMessage(cx, *m.Messages[0].MessageID, *m.Messages[0].PopReceipt, nil); err != nil {
		t.Fatalf("sp=p delete: %v", err)
	}
	if _, err := proc.EnqueueMessage(cx, "x", nil); !denied(err) {
		t.Fatalf("sp=p enqueue: %v", err)
	}
	// an account SAS without queue service (ss=b only) is refused
	bc := ts.client(t)
	u, err := bc.ServiceClient().GetSASURL(blobAccountTypes(), blobAccountPerms(), time.Now().Add(time.Hour), nil)
	must(t, err)
	q, err := azqueue.NewQueueClientWithNoCredential(ts.QueueURL+"/devstoreaccount1/sasq?"+u[strings.Index(u, "?")+1:], opts())
	must(t, err)
	if _, err := q.PeekMessage(cx, nil); err == nil || !strings.Contains(err.Error(), "AuthorizationServiceMismatch") {
		t.Fatalf("blob-only account SAS on a queue: %v", err)
	}
}
