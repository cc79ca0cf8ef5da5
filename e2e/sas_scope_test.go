package e2e

import (
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// TestSASBoundToScope: a SAS signed with an encryption scope (ses) writes
// under that scope, and a request naming another scope is refused.
func TestSASBoundToScope(t *testing.T) {
	ts := startServer(t)
	cx := ctx(t)
	devScope(t, ts, "bound")
	devScope(t, ts, "other")
	_, err := ts.client(t).CreateContainer(cx, "ses", nil)
	must(t, err)
	qp, err := sas.BlobSignatureValues{ContainerName: "ses", Permissions: "rcw", ExpiryTime: time.Now().Add(time.Hour),
		EncryptionScope: "bound"}.SignWithSharedKey(sasCred(t))
	must(t, err)
	cc, err := container.NewClientWithNoCredential(ts.BlobURL+"/devstoreaccount1/ses?"+qp.Encode(), &container.ClientOptions{ClientOptions: *noRetry})
	must(t, err)
	bb := cc.NewBlockBlobClient("b")
	up, err := bb.Upload(cx, body([]byte("scoped by its SAS")), nil)
	must(t, err)
	if up.EncryptionScope == nil || *up.EncryptionScope != "bound" {
		t.Fatalf("write under a scope-bound SAS used scope %v", up.EncryptionScope)
	}
	p, err := ts.client(t).ServiceClient().NewContainerClient("ses").NewBlobClient("b").GetProperties(cx, nil)
	must(t, err)
	if p.EncryptionScope == nil || *p.EncryptionScope != "bound" {
		t.Fatalf("blob scope: %v", p.EncryptionScope)
	}
	_, err = cc.NewBlockBlobClient("c").Upload(cx, body([]byte("x")), &blockblob.UploadOptions{CPKScopeInfo: &blob.CPKScopeInfo{EncryptionScope: to.Ptr("other")}})
	wantCode(t, err, bloberror.AuthorizationFailure)
}
