package table

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
	"github.com/atrest/atrest/internal/store/boltmeta"
	"github.com/atrest/atrest/internal/store/fsobjects"
)

// Benchmarks of the whole path (Go SDK → HTTP → edge → table → sse →
// bbolt with fsync) in one process; bench/queuetable measures the same
// next to Azurite.

func benchTable(b *testing.B) *aztables.Client {
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
	srv := httptest.NewServer(&edge.Service{Name: "table", Flavor: edge.FlavorTable, Routes: s.Routes(), Split: Split,
		Accounts: accts, Errors: WriteError, Log: log, Version: Version})
	b.Cleanup(srv.Close)
	conn := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;TableEndpoint=%s/%s;", edge.DevAccount, edge.DevKey, srv.URL, edge.DevAccount)
	sc, err := aztables.NewServiceClientFromConnectionString(conn, &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: -1}, Transport: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}})
	if err != nil {
		b.Fatal(err)
	}
	c := sc.NewClient("bench")
	if _, err := c.CreateTable(b.Context(), nil); err != nil {
		b.Fatal(err)
	}
	return c
}

func benchEntity(i int) []byte {
	e, _ := json.Marshal(map[string]any{"PartitionKey": fmt.Sprintf("p%03d", i%100), "RowKey": fmt.Sprintf("r%08d", i),
		"Seq": i, "Name": fmt.Sprintf("customer %d", i), "Amount": float64(i) / 7, "Active": i%2 == 0})
	return e
}

// BenchmarkInsert: durable inserts from 32 clients.
func BenchmarkInsert(b *testing.B) {
	c := benchTable(b)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.AddEntity(b.Context(), benchEntity(int(n.Add(1))), nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPointQuery: GET of one entity from 32 clients.
func BenchmarkPointQuery(b *testing.B) {
	c := benchTable(b)
	const rows = 10000
	// transaction p holds the entities p, p+100, p+200…: all in partition p
	for p := 0; p < 100; p++ {
		var actions []aztables.TransactionAction
		for k := 0; k < rows/100; k++ {
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: benchEntity(p + 100*k)})
		}
		if _, err := c.SubmitTransaction(b.Context(), actions, nil); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(7919)) % rows
			if _, err := c.GetEntity(b.Context(), fmt.Sprintf("p%03d", i%100), fmt.Sprintf("r%08d", i), nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBatchInsert: entity group transactions of 100 from 32 clients;
// one op is one entity.
func BenchmarkBatchInsert(b *testing.B) {
	c := benchTable(b)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for {
			first := int(n.Add(100)) - 100
			actions := make([]aztables.TransactionAction, 0, 100)
			for k := 0; k < 100; k++ {
				if !pb.Next() {
					break
				}
				// one partition per transaction, as Azure requires
				e, _ := json.Marshal(map[string]any{"PartitionKey": fmt.Sprintf("p%06d", first/100), "RowKey": fmt.Sprintf("r%08d", first+k),
					"Seq": first + k, "Name": fmt.Sprintf("customer %d", first+k), "Amount": float64(k) / 7, "Active": k%2 == 0})
				actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: e})
			}
			if len(actions) == 0 {
				return
			}
			if _, err := c.SubmitTransaction(b.Context(), actions, nil); err != nil {
				b.Error(err)
				return
			}
			if len(actions) < 100 {
				return
			}
		}
	})
}
