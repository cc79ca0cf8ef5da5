package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/sas"

	"github.com/atrest/atrest/internal/edge"
)

// TestQueueStoredAccessPolicy: Set and Get Queue ACL with azqueue, a
// service SAS naming the stored policy, and its revocation by replacing the
// ACL.
func TestQueueStoredAccessPolicy(t *testing.T) {
	ts := startServer(t)
	cx := ctx(t)
	opts := func() *azqueue.ClientOptions {
		return &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	}
	owner, err := azqueue.NewServiceClientFromConnectionString(ts.conn, opts())
	must(t, err)
	_, err = owner.CreateQueue(cx, "polq", nil)
	must(t, err)
	q := owner.NewQueueClient("polq")
	start, expiry := time.Now().Add(-time.Minute).UTC().Truncate(time.Second), time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	_, err = q.SetAccessPolicy(cx, &azqueue.SetAccessPolicyOptions{QueueACL: []*azqueue.SignedIdentifier{{
		ID: to.Ptr("senders"), AccessPolicy: &azqueue.AccessPolicy{Start: &start, Expiry: &expiry, Permission: to.Ptr("a")}}}})
	must(t, err)
	got, err := q.GetAccessPolicy(cx, nil)
	must(t, err)
	if len(got.SignedIdentifiers) != 1 || *got.SignedIdentifiers[0].ID != "senders" || *got.SignedIdentifiers[0].AccessPolicy.Permission != "a" ||
		!got.SignedIdentifiers[0].AccessPolicy.Expiry.Equal(expiry) {
		t.Fatalf("queue ACL: %+v", got.SignedIdentifiers)
	}

	cred, err := azqueue.NewSharedKeyCredential(edge.DevAccount, edge.DevKey)
	must(t, err)
	qp, err := sas.QueueSignatureValues{QueueName: "polq", Identifier: "senders"}.SignWithSharedKey(cred)
	must(t, err)
	sender, err := azqueue.NewQueueClientWithNoCredential(ts.QueueURL+"/devstoreaccount1/polq?"+qp.Encode(), opts())
	must(t, err)
	if _, err := sender.EnqueueMessage(cx, "by policy", nil); err != nil {
		t.Fatalf("enqueue under the stored policy: %v", err)
	}
	if _, err := sender.PeekMessage(cx, nil); err == nil || !strings.Contains(err.Error(), "AuthorizationPermissionMismatch") {
		t.Fatalf("peek under an add-only policy: %v", err)
	}
	// the policy's ACL is the account owner's: a SAS cannot read or set it
	if _, err := sender.GetAccessPolicy(cx, nil); err == nil {
		t.Fatal("a SAS read the queue ACL")
	}
	// at most five policies, as in Azure; a refused set changes nothing
	var six []*azqueue.SignedIdentifier
	for i := range 6 {
		six = append(six, &azqueue.SignedIdentifier{ID: to.Ptr(fmt.Sprintf("p%d", i)),
			AccessPolicy: &azqueue.AccessPolicy{Expiry: &expiry, Permission: to.Ptr("r")}})
	}
	if _, err := q.SetAccessPolicy(cx, &azqueue.SetAccessPolicyOptions{QueueACL: six}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("six stored policies: %v", err)
	}
	if got, err := q.GetAccessPolicy(cx, nil); err != nil || len(got.SignedIdentifiers) != 1 {
		t.Fatalf("ACL after a refused set: %v %d", err, len(got.SignedIdentifiers))
	}
	// replacing the ACL revokes every SAS that names the policy
	_, err = q.SetAccessPolicy(cx, &azqueue.SetAccessPolicyOptions{})
	must(t, err)
	if _, err := sender.EnqueueMessage(cx, "revoked", nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("enqueue after the policy was removed: %v", err)
	}
	pk, err := q.PeekMessages(cx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	must(t, err)
	if len(pk.Messages) != 1 || *pk.Messages[0].MessageText != "by policy" {
		t.Fatalf("messages: %d", len(pk.Messages))
	}
}

// TestTableStoredPolicyAndKeyRange: Set and Get Table ACL with aztables; a
// SAS naming the stored policy and confined to a key range, as Azure
// confines one: writes outside the range are refused (403), a point read
// outside it finds nothing (404), a query returns only what is inside,
// and a batch cannot do what the SAS's permissions do not allow.
func TestTableStoredPolicyAndKeyRange(t *testing.T) {
	ts := startServer(t)
	cx := ctx(t)
	opts := func() *aztables.ClientOptions {
		return &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	}
	owner, err := aztables.NewServiceClientFromConnectionString(ts.conn, opts())
	must(t, err)
	_, err = owner.CreateTable(cx, "rangetable", nil)
	must(t, err)
	tc := owner.NewClient("rangetable")
	for _, k := range [][2]string{{"A", "x"}, {"M", "A"}, {"M", "G"}, {"P", "x"}, {"S", "S"}, {"S", "Z"}, {"Z", "x"}} {
		e, _ := json.Marshal(map[string]any{"PartitionKey": k[0], "RowKey": k[1], "v": k[0] + k[1]})
		_, err := tc.AddEntity(cx, e, nil)
		must(t, err)
	}
	start, expiry := time.Now().Add(-time.Minute).UTC().Truncate(time.Second), time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	_, err = tc.SetAccessPolicy(cx, &aztables.SetAccessPolicyOptions{TableACL: []*aztables.SignedIdentifier{{
		ID: to.Ptr("editors"), AccessPolicy: &aztables.AccessPolicy{Start: &start, Expiry: &expiry, Permission: to.Ptr("raud")}}}})
	must(t, err)
	acl, err := tc.GetAccessPolicy(cx, nil)
	must(t, err)
	if len(acl.SignedIdentifiers) != 1 || *acl.SignedIdentifiers[0].ID != "editors" || *acl.SignedIdentifiers[0].AccessPolicy.Permission != "raud" {
		t.Fatalf("table ACL: %+v", acl.SignedIdentifiers)
	}

	cred, err := aztables.NewSharedKeyCredential(edge.DevAccount, edge.DevKey)
	must(t, err)
	// keys from (M, F) to (S, T) inclusive
	qp, err := aztables.SASSignatureValues{TableName: "rangetable", Identifier: "editors",
		StartPartitionKey: "M", StartRowKey: "F", EndPartitionKey: "S", EndRowKey: "T"}.Sign(cred)
	must(t, err)
	// aztables v1.4.0 signs the key range but leaves it out of the query it
	// returns; the range goes on as Azure reads it (the Python SDK puts it
	// there itself: testdata/py_table_sas_range.py)
	qp += "&spk=M&srk=F&epk=S&erk=T"
	sc, err := aztables.NewClientWithNoCredential(ts.TableURL+"/devstoreaccount1/rangetable?"+qp, opts())
	must(t, err)
	status := func(err error) string {
		if err == nil {
			return "ok"
		}
		for _, s := range []string{"403", "404"} {
			if strings.Contains(err.Error(), s) {
				return s
			}
		}
		return err.Error()
	}
	for _, c := range []struct {
		pk, rk, read, write string
	}{
		{"M", "G", "ok", "ok"}, {"P", "x", "ok", "ok"}, {"S", "S", "ok", "ok"},
		{"A", "x", "404", "403"}, {"M", "A", "404", "403"}, {"S", "Z", "404", "403"}, {"Z", "x", "404", "403"},
	} {
		_, err := sc.GetEntity(cx, c.pk, c.rk, nil)
		if got := status(err); got != c.read {
			t.Errorf("get (%s,%s): %s, want %s", c.pk, c.rk, got, c.read)
		}
		e, _ := json.Marshal(map[string]any{"PartitionKey": c.pk, "RowKey": c.rk, "v": "changed"})
		_, err = sc.UpdateEntity(cx, e, &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeMerge, IfMatch: to.Ptr(azcore.ETagAny)})
		if got := status(err); got != c.write {
			t.Errorf("merge (%s,%s): %s, want %s", c.pk, c.rk, got, c.write)
		}
	}
	ne, _ := json.Marshal(map[string]any{"PartitionKey": "N", "RowKey": "new"})
	if _, err := sc.AddEntity(cx, ne, nil); err != nil {
		t.Fatalf("insert inside the range: %v", err)
	}
	oe, _ := json.Marshal(map[string]any{"PartitionKey": "B", "RowKey": "new"})
	if got := status(func() error { _, err := sc.AddEntity(cx, oe, nil); return err }()); got != "403" {
		t.Fatalf("insert outside the range: %s", got)
	}
	var keys []string
	for pg := sc.NewListEntitiesPager(nil); pg.More(); {
		page, err := pg.NextPage(cx)
		must(t, err)
		for _, raw := range page.Entities {
			var e struct{ PartitionKey, RowKey string }
			json.Unmarshal(raw, &e)
			keys = append(keys, e.PartitionKey+e.RowKey)
		}
	}
	if strings.Join(keys, ",") != "MG,Nnew,Px,SS" {
		t.Fatalf("query under the range SAS: %v", keys)
	}

	// a batch is held to the SAS too: a delete needs d, an upsert a and u
	qp, err = aztables.SASSignatureValues{TableName: "rangetable", Permissions: aztables.SASPermissions{Add: true}.String(),
		ExpiryTime: time.Now().Add(time.Hour)}.Sign(cred)
	must(t, err)
	adder, err := aztables.NewClientWithNoCredential(ts.TableURL+"/devstoreaccount1/rangetable?"+qp, opts())
	must(t, err)
	ins, _ := json.Marshal(map[string]any{"PartitionKey": "P", "RowKey": "y"})
	del, _ := json.Marshal(map[string]any{"PartitionKey": "P", "RowKey": "x"})
	if _, err := adder.SubmitTransaction(cx, []aztables.TransactionAction{
		{ActionType: aztables.TransactionTypeAdd, Entity: ins}, {ActionType: aztables.TransactionTypeDelete, Entity: del}}, nil); err == nil ||
		!strings.Contains(err.Error(), "AuthorizationPermissionMismatch") {
		t.Fatalf("an add-only SAS deleted in a batch: %v", err)
	}
	if _, err := adder.SubmitTransaction(cx, []aztables.TransactionAction{{ActionType: aztables.TransactionTypeAdd, Entity: ins}}, nil); err != nil {
		t.Fatalf("an add-only SAS adding in a batch: %v", err)
	}
	if _, err := tc.GetEntity(cx, "P", "x", nil); err != nil {
		t.Fatalf("the refused batch changed the table: %v", err)
	}

	// replacing the ACL revokes the policy's SAS
	_, err = tc.SetAccessPolicy(cx, nil)
	must(t, err)
	if _, err := sc.GetEntity(cx, "M", "G", nil); status(err) != "403" {
		t.Fatalf("read after the policy was removed: %v", err)
	}
}

// TestPythonStoredPoliciesAndKeyRange: the same with the Python SDKs, whose
// generate_table_sas carries the key range itself.
func TestPythonStoredPoliciesAndKeyRange(t *testing.T) {
	py := debianPython(t)
	ts := startServer(t)
	out := runClient(t, 2*time.Minute, []string{"ATREST_CONN=" + ts.conn}, py, "testdata/py_sas_policies.py")
	if !strings.Contains(out, "python policies: all checks passed") {
		t.Fatalf("python run incomplete:\n%s", out)
	}
}
