package e2e

import (
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// BenchmarkGet4KiBAuth compares the cost of authorization: the same 4 KiB
// GET at 16 clients over HTTPS with SharedKey, a service SAS, and a bearer
// token checked against role assignments.
func BenchmarkGet4KiBAuth(b *testing.B) {
	ts := startServer(b, withHTTPS())
	hc := kvTransport(b, ts.CAFile)
	owner := ts.tlsClient(b)
	if _, err := owner.CreateContainer(ctx(b), "bench", nil); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 64; i++ {
		if _, err := owner.UploadBuffer(ctx(b), "bench", fmt.Sprint(i), make([]byte, 4096), nil); err != nil {
			b.Fatal(err)
		}
	}
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}}
	shared, _ := azblob.NewClientFromConnectionString(ts.conn, opts)
	qp, err := sas.BlobSignatureValues{ContainerName: "bench", Permissions: "r", ExpiryTime: time.Now().Add(time.Hour)}.SignWithSharedKey(sasCred(b))
	if err != nil {
		b.Fatal(err)
	}
	viaSAS, _ := azblob.NewClientWithNoCredential(ts.BlobURL+"/devstoreaccount1?"+qp.Encode(), opts)
	creds := newPrincipal(b, ts, "bench-reader", "Storage Blob Data Reader", "/storageaccounts/devstoreaccount1")
	viaToken, _ := azblob.NewClient(ts.BlobURL+"/devstoreaccount1", goCredential(b, ts, creds, hc), opts)
	for _, c := range []struct {
		name   string
		client *azblob.Client
	}{{"SharedKey", shared}, {"SAS", viaSAS}, {"Bearer", viaToken}} {
		b.Run(c.name, func(b *testing.B) {
			var n atomic.Int64
			b.SetBytes(4096)
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 4096)
				for pb.Next() {
					resp, err := c.client.DownloadStream(ctx(b), "bench", fmt.Sprint(n.Add(1)%64), nil)
					if err != nil {
						b.Error(err)
						return
					}
					io.ReadFull(resp.Body, buf)
					resp.Body.Close()
				}
			})
		})
	}
}
