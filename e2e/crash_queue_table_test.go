package e2e

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// TestKillNineQueueTable kills the server without warning during a stream
// of entity inserts, 20-entity transactions and queue messages. After a
// restart every acknowledged write is there, and every transaction is
// either wholly present or wholly absent.
func TestKillNineQueueTable(t *testing.T) {
	dir := t.TempDir()
	ch := startChild(t, dir)
	noRetry := azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}
	clients := func(conn string) (*aztables.Client, *azqueue.QueueClient) {
		ts, err := aztables.NewServiceClientFromConnectionString(conn, &aztables.ClientOptions{ClientOptions: noRetry})
		must(t, err)
		qs, err := azqueue.NewServiceClientFromConnectionString(conn, &azqueue.ClientOptions{ClientOptions: noRetry})
		must(t, err)
		return ts.NewClient("crash"), qs.NewQueueClient("crash")
	}
	tc, qc := clients(ch.conn)
	cx := ctx(t)
	_, err := tc.CreateTable(cx, nil)
	must(t, err)
	_, err = qc.Create(cx, nil)
	must(t, err)

	const batchSize = 20
	var mu sync.Mutex
	ackedRows := map[string]string{}   // "pk/rk" -> value
	ackedBatches := map[string]bool{}  // partition
	triedBatches := map[string]bool{}  // partition
	ackedMessages := map[string]bool{} // text
	stop := make(chan struct{})
	var wg sync.WaitGroup
	worker := func(w int, step func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				step(i)
			}
		}()
	}
	for w := 0; w < 3; w++ {
		worker(w, func(i int) {
			pk, rk, v := fmt.Sprintf("single-%d", w), fmt.Sprintf("%06d", i), fmt.Sprintf("value %d/%d", w, i)
			if _, err := tc.AddEntity(cx, marshal(t, map[string]any{"PartitionKey": pk, "RowKey": rk, "V": v}), nil); err == nil {
				mu.Lock()
				ackedRows[pk+"/"+rk] = v
				mu.Unlock()
			}
		})
	}
	for w := 0; w < 2; w++ {
		worker(w, func(i int) {
			pk := fmt.Sprintf("batch-%d-%d", w, i)
			var actions []aztables.TransactionAction
			for r := 0; r < batchSize; r++ {
				e := map[string]any{"PartitionKey": pk, "RowKey": fmt.Sprintf("%02d", r), "V": pk}
				actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: marshal(t, e)})
			}
			mu.Lock()
			triedBatches[pk] = true
			mu.Unlock()
			if _, err := tc.SubmitTransaction(cx, actions, nil); err == nil {
				mu.Lock()
				ackedBatches[pk] = true
				mu.Unlock()
			}
		})
	}
	for w := 0; w < 2; w++ {
		worker(w, func(i int) {
			text := fmt.Sprintf("message %d/%d", w, i)
			if _, err := qc.EnqueueMessage(cx, text, nil); err == nil {
				mu.Lock()
				ackedMessages[text] = true
				mu.Unlock()
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	ch.cmd.Process.Signal(syscall.SIGKILL)
	<-ch.done
	close(stop)
	wg.Wait()
	if len(ackedRows) < 20 || len(ackedBatches) < 5 || len(ackedMessages) < 20 {
		t.Fatalf("too little acknowledged before the kill: %d rows, %d batches, %d messages", len(ackedRows), len(ackedBatches), len(ackedMessages))
	}

	ch = startChild(t, dir)
	tc, qc = clients(ch.conn)
	stored := map[string]string{}
	perPartition := map[string]int{}
	entities, _ := listAll(t, tc, nil)
	for _, e := range entities {
		stored[e.PartitionKey+"/"+e.RowKey] = e.Properties["V"].(string)
		perPartition[e.PartitionKey]++
	}
	for k, v := range ackedRows {
		if stored[k] != v {
			t.Fatalf("acknowledged entity %s lost after kill -9 (have %q)", k, stored[k])
		}
	}
	for pk := range triedBatches {
		n := perPartition[pk]
		if n != 0 && n != batchSize || ackedBatches[pk] && n != batchSize {
			t.Fatalf("transaction %s: %d of %d entities after kill -9 (acknowledged: %v)", pk, n, batchSize, ackedBatches[pk])
		}
	}
	got := map[string]bool{}
	for {
		resp, err := qc.DequeueMessages(cx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(600))})
		must(t, err)
		if len(resp.Messages) == 0 {
			break
		}
		for _, m := range resp.Messages {
			got[*m.MessageText] = true
		}
	}
	for text := range ackedMessages {
		if !got[text] {
			t.Fatalf("acknowledged message %q lost after kill -9", text)
		}
	}
	ch.signal(t, syscall.SIGTERM)
	t.Logf("after kill -9: %d acknowledged entities, %d of %d transactions acknowledged (none partial), %d messages, all intact",
		len(ackedRows), len(ackedBatches), len(triedBatches), len(ackedMessages))
}
