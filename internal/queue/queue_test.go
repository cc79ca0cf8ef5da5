package queue

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
	"github.com/atrest/atrest/internal/store"
)

// clock is a settable time for the service under test.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// testQueue serves a Queue service over an in-memory store with a fake
// clock and returns an official client for one queue in it.
func testQueue(t testing.TB) (*azqueue.QueueClient, *clock) {
	t.Helper()
	meta := store.NewMemMeta()
	root, _ := secret.Random(32)
	keys, err := sse.NewKeyring(root, meta)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db := sse.NewDB(meta, store.NewMemObjects(), keys, sse.Options{Log: log})
	s := New(db, keys, log)
	clk := &clock{}
	clk.ns.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	s.now = clk.now
	accts, _ := edge.ParseAccounts("")
	srv := httptest.NewServer(&edge.Service{Name: "queue", Routes: s.Routes(), Accounts: accts, Errors: edge.XMLErrors, Log: log, Version: Version})
	t.Cleanup(srv.Close)
	conn := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;QueueEndpoint=%s/%s;", edge.DevAccount, edge.DevKey, srv.URL, edge.DevAccount)
	sc, err := azqueue.NewServiceClientFromConnectionString(conn, &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	q := sc.NewQueueClient("testq")
	if _, err := q.Create(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	return q, clk
}

// drain dequeues with concurrent consumers until the queue shows nothing,
// counting how often each message was handed out.
func drain(t *testing.T, q *azqueue.QueueClient, consumers int, vis int32) map[string]int {
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for c := 0; c < consumers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				resp, err := q.DequeueMessages(t.Context(), &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(3)), VisibilityTimeout: to.Ptr(vis)})
				if err != nil {
					t.Error(err)
					return
				}
				if len(resp.Messages) == 0 {
					return
				}
				mu.Lock()
				for _, m := range resp.Messages {
					seen[*m.MessageText]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return seen
}

// TestVisibilityOncePerTimeout: concurrent consumers get each message
// exactly once; nothing comes back before the timeout; after it, each
// message comes back exactly once more.
func TestVisibilityOncePerTimeout(t *testing.T) {
	q, clk := testQueue(t)
	const n = 60
	for i := 0; i < n; i++ {
		if _, err := q.EnqueueMessage(t.Context(), fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	for round := 1; round <= 3; round++ {
		seen := drain(t, q, 6, 10)
		if len(seen) != n {
			t.Fatalf("round %d: %d distinct messages, want %d", round, len(seen), n)
		}
		for m, c := range seen {
			if c != 1 {
				t.Fatalf("round %d: message %s handed out %d times", round, m, c)
			}
		}
		clk.advance(9 * time.Second)
		if again := drain(t, q, 2, 10); len(again) != 0 {
			t.Fatalf("round %d: %d messages back before their timeout", round, len(again))
		}
		clk.advance(time.Second)
	}
	peek, err := q.PeekMessages(t.Context(), &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(1))})
	if err != nil || len(peek.Messages) != 1 || *peek.Messages[0].DequeueCount != 3 {
		t.Fatalf("dequeue count after three rounds: %v %+v", err, peek.Messages)
	}
}

// TestExpiry: messages vanish at their time-to-live; -1 never expires; an
// expired message cannot be updated or deleted.
func TestExpiry(t *testing.T) {
	q, clk := testQueue(t)
	cx := t.Context()
	short, err := q.EnqueueMessage(cx, "short", &azqueue.EnqueueMessageOptions{TimeToLive: to.Ptr(int32(5))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.EnqueueMessage(cx, "forever", &azqueue.EnqueueMessageOptions{TimeToLive: to.Ptr(int32(-1))}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.EnqueueMessage(cx, "week", nil); err != nil {
		t.Fatal(err)
	}
	clk.advance(5 * time.Second)
	peek, _ := q.PeekMessages(cx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if len(peek.Messages) != 2 {
		t.Fatalf("%d messages visible after the short one expired", len(peek.Messages))
	}
	m := short.Messages[0]
	if _, err := q.DeleteMessage(cx, *m.MessageID, *m.PopReceipt, nil); !hasCode(err, "MessageNotFound") {
		t.Fatalf("delete of an expired message: %v", err)
	}
	clk.advance(7 * 24 * time.Hour)
	got, err := q.DequeueMessages(cx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil || len(got.Messages) != 1 || *got.Messages[0].MessageText != "forever" {
		t.Fatalf("after a week: %v %d messages", err, len(got.Messages))
	}
	props, _ := q.GetProperties(cx, nil)
	if *props.ApproximateMessagesCount != 1 {
		t.Fatalf("expired messages still counted: %d", *props.ApproximateMessagesCount)
	}
	clk.advance(100 * 365 * 24 * time.Hour)
	if got, _ := q.DequeueMessages(cx, nil); len(got.Messages) != 1 {
		t.Fatal("a message with messagettl=-1 expired")
	}
}

func hasCode(err error, code string) bool {
	re, ok := err.(*azcore.ResponseError)
	return ok && re.ErrorCode == code
}

func TestNames(t *testing.T) {
	for name, want := range map[string]error{
		"abc": nil, "a-b-c": nil, "a1": errNameLength, "-ab": errInvalidName, "ab-": errInvalidName,
		"a--b": errInvalidName, "ABC": errInvalidName, "a_b": errInvalidName, string(make([]byte, 64)): errNameLength,
	} {
		if got := validName(name); got != want {
			t.Errorf("%q: %v, want %v", name, got, want)
		}
	}
}
