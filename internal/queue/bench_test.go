package queue

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
	"github.com/atrest/atrest/internal/store/boltmeta"
	"github.com/atrest/atrest/internal/store/fsobjects"
)

// Benchmarks of the whole path (Go SDK → HTTP → edge → queue → sse →
// bbolt with fsync) in one process; bench/queuetable measures the same
// next to Azurite.

func benchQueue(b *testing.B) *azqueue.QueueClient {
	dir := b.TempDir()
	meta, err := boltmeta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { meta.Close() })
	objs, err := fsobjects.Open(filepath.Join(dir, "objects"))
	if err != nil {
		b.Fatal(err)
	}
	root, _ := secret.Random(32)
	keys, _ := sse.NewKeyring(root, meta)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(sse.NewDB(meta, objs, keys, sse.Options{Log: log}), keys, log)
	accts, _ := edge.ParseAccounts("")
	srv := httptest.NewServer(&edge.Service{Name: "queue", Routes: s.Routes(), Accounts: accts, Errors: edge.XMLErrors, Log: log, Version: Version})
	b.Cleanup(srv.Close)
	conn := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;QueueEndpoint=%s/%s;", edge.DevAccount, edge.DevKey, srv.URL, edge.DevAccount)
	sc, err := azqueue.NewServiceClientFromConnectionString(conn, &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: -1}, Transport: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}})
	if err != nil {
		b.Fatal(err)
	}
	q := sc.NewQueueClient("bench")
	if _, err := q.Create(b.Context(), nil); err != nil {
		b.Fatal(err)
	}
	return q
}

// BenchmarkPut: durable Put Message from 32 clients.
func BenchmarkPut(b *testing.B) {
	q := benchQueue(b)
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := q.EnqueueMessage(b.Context(), "order 12345 shipped to customer 67890", nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGet: Get Messages, 32 at a time, from 32 clients; one op is one
// message.
func BenchmarkGet(b *testing.B) {
	q := benchQueue(b)
	for i := 0; i < b.N; i++ {
		if _, err := q.EnqueueMessage(b.Context(), "order 12345 shipped to customer 67890", nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := q.DequeueMessages(b.Context(), &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(3600))})
			if err != nil {
				b.Error(err)
				return
			}
			// the other 31 count too
			for range len(resp.Messages) - 1 {
				if !pb.Next() {
					return
				}
			}
		}
	})
}
