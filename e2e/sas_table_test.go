package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// TestTableSAS: table service SAS per permission with the official aztables
// client, signed by aztables itself.
func TestTableSAS(t *testing.T) {
	ts := startServer(t)
	cx := ctx(t)
	opts := func() *aztables.ClientOptions {
		return &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	}
	owner, err := aztables.NewServiceClientFromConnectionString(ts.conn, opts())
	must(t, err)
	_, err = owner.CreateTable(cx, "sastable", nil)
	must(t, err)
	ent, _ := json.Marshal(map[string]any{"PartitionKey": "p", "RowKey": "r0", "v": "seed"})
	_, err = owner.NewClient("sastable").AddEntity(cx, ent, nil)
	must(t, err)
	cred, err := aztables.NewSharedKeyCredential("devstoreaccount1", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
	must(t, err)
	tableWith := func(p aztables.SASPermissions) *aztables.Client {
		qp, err := aztables.SASSignatureValues{TableName: "sastable", Permissions: p.String(), ExpiryTime: time.Now().Add(time.Hour)}.Sign(cred)
		must(t, err)
		c, err := aztables.NewClientWithNoCredential(ts.TableURL+"/devstoreaccount1/sastable?"+qp, opts())
		must(t, err)
		return c
	}
	denied := func(err error) bool {
		return err != nil && strings.Contains(err.Error(), "AuthorizationPermissionMismatch")
	}
	reader := tableWith(aztables.SASPermissions{Read: true})
	if got, err := reader.GetEntity(cx, "p", "r0", nil); err != nil || !strings.Contains(string(got.Value), "seed") {
		t.Fatalf("sp=r get: %v", err)
	}
	ent1, _ := json.Marshal(map[string]any{"PartitionKey": "p", "RowKey": "r1"})
	if _, err := reader.AddEntity(cx, ent1, nil); !denied(err) {
		t.Fatalf("sp=r insert: %v", err)
	}
	adder := tableWith(aztables.SASPermissions{Add: true})
	if _, err := adder.AddEntity(cx, ent1, nil); err != nil {
		t.Fatalf("sp=a insert: %v", err)
	}
	if _, err := adder.DeleteEntity(cx, "p", "r1", nil); !denied(err) {
		t.Fatalf("sp=a delete: %v", err)
	}
	updater := tableWith(aztables.SASPermissions{Update: true})
	upd, _ := json.Marshal(map[string]any{"PartitionKey": "p", "RowKey": "r1", "v": "changed"})
	if _, err := updater.UpdateEntity(cx, upd, &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeMerge}); err != nil {
		t.Fatalf("sp=u merge: %v", err)
	}
	deleter := tableWith(aztables.SASPermissions{Delete: true})
	if _, err := deleter.DeleteEntity(cx, "p", "r1", nil); err != nil {
		t.Fatalf("sp=d delete: %v", err)
	}
	if pg, err := reader.NewListEntitiesPager(nil).NextPage(cx); err != nil || len(pg.Entities) != 1 {
		t.Fatalf("sp=r query: %v", err)
	}

	// a SAS for one table opens no other
	_, err = owner.CreateTable(cx, "othertable", nil)
	must(t, err)
	_, err = owner.NewClient("othertable").AddEntity(cx, ent, nil)
	must(t, err)
	qp, err := aztables.SASSignatureValues{TableName: "sastable", Permissions: aztables.SASPermissions{Read: true, Add: true}.String(),
		ExpiryTime: time.Now().Add(time.Hour)}.Sign(cred)
	must(t, err)
	other, err := aztables.NewClientWithNoCredential(ts.TableURL+"/devstoreaccount1/othertable?"+qp, opts())
	must(t, err)
	if _, err := other.GetEntity(cx, "p", "r0", nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a SAS for sastable read othertable: %v", err)
	}
	if _, err := other.AddEntity(cx, ent1, nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a SAS for sastable wrote to othertable: %v", err)
	}
	if _, err := other.NewListEntitiesPager(nil).NextPage(cx); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a SAS for sastable queried othertable: %v", err)
	}
	// nor the table operations
	svc, err := aztables.NewServiceClientWithNoCredential(ts.TableURL+"/devstoreaccount1?"+qp, opts())
	must(t, err)
	if _, err := svc.CreateTable(cx, "sasmade", nil); err == nil || !strings.Contains(err.Error(), "AuthorizationResourceTypeMismatch") {
		t.Fatalf("a table SAS created a table: %v", err)
	}
}
