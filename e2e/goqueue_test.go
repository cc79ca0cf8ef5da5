package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

func (ts *testServer) queueClient(t testing.TB) *azqueue.ServiceClient {
	t.Helper()
	c, err := azqueue.NewServiceClientFromConnectionString(ts.conn, &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantErrorCode fails unless err is an Azure response error with the code
// (azcore reads it from x-ms-error-code or the body, for any service).
func wantErrorCode(t testing.TB, err error, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.ErrorCode != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

// TestGoQueue drives the Queue service with the official Go azqueue client.
func TestGoQueue(t *testing.T) {
	ts := startServer(t)
	sc := ts.queueClient(t)
	cx := ctx(t)
	canary := "QCANARY-3d8e51"

	// queues: create (idempotent with equal metadata), list with paging
	for i := 0; i < 5; i++ {
		_, err := sc.CreateQueue(cx, fmt.Sprintf("goq-%d", i), &azqueue.CreateOptions{Metadata: map[string]*string{"n": to.Ptr(fmt.Sprint(i))}})
		must(t, err)
	}
	_, err := sc.CreateQueue(cx, "goq-0", &azqueue.CreateOptions{Metadata: map[string]*string{"n": to.Ptr("0")}})
	must(t, err)
	_, err = sc.CreateQueue(cx, "goq-0", &azqueue.CreateOptions{Metadata: map[string]*string{"n": to.Ptr("other")}})
	wantErrorCode(t, err, "QueueAlreadyExists")
	_, err = sc.CreateQueue(cx, "Bad_Name", nil)
	wantErrorCode(t, err, "InvalidResourceName")
	_, err = sc.CreateQueue(cx, "ab", nil)
	wantErrorCode(t, err, "OutOfRangeInput")
	pager := sc.NewListQueuesPager(&azqueue.ListQueuesOptions{Prefix: to.Ptr("goq-"), MaxResults: to.Ptr(int32(2)), Include: azqueue.ListQueuesInclude{Metadata: true}})
	var names []string
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(cx)
		must(t, err)
		pages++
		for _, q := range page.Queues {
			names = append(names, *q.Name)
			if meta(q.Metadata, "n") != (*q.Name)[4:] {
				t.Fatalf("queue %s metadata %v", *q.Name, q.Metadata)
			}
		}
	}
	if strings.Join(names, ",") != "goq-0,goq-1,goq-2,goq-3,goq-4" || pages != 3 {
		t.Fatalf("listed %v in %d pages", names, pages)
	}

	q := sc.NewQueueClient("goq-0")
	_, err = q.SetMetadata(cx, &azqueue.SetMetadataOptions{Metadata: map[string]*string{"owner": to.Ptr(canary)}})
	must(t, err)

	// put: escaped text, a never-expiring message, a delayed one
	text := "hello <queue> & \"friends\" " + canary
	put, err := q.EnqueueMessage(cx, text, nil)
	must(t, err)
	_, err = q.EnqueueMessage(cx, "forever", &azqueue.EnqueueMessageOptions{TimeToLive: to.Ptr(int32(-1))})
	must(t, err)
	_, err = q.EnqueueMessage(cx, "later", &azqueue.EnqueueMessageOptions{VisibilityTimeout: to.Ptr(int32(3600))})
	must(t, err)
	_, err = q.EnqueueMessage(cx, "bad", &azqueue.EnqueueMessageOptions{VisibilityTimeout: to.Ptr(int32(10)), TimeToLive: to.Ptr(int32(5))})
	wantErrorCode(t, err, "InvalidQueryParameterValue")
	props, err := q.GetProperties(cx, nil)
	must(t, err)
	if *props.ApproximateMessagesCount != 3 || meta(props.Metadata, "owner") != canary {
		t.Fatalf("properties: count %d metadata %v", *props.ApproximateMessagesCount, props.Metadata)
	}

	// peek sees the two visible messages, oldest first, without dequeuing
	peek, err := q.PeekMessages(cx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	must(t, err)
	if len(peek.Messages) != 2 || *peek.Messages[0].MessageText != text || *peek.Messages[0].DequeueCount != 0 ||
		*peek.Messages[1].MessageText != "forever" || peek.Messages[1].ExpirationTime.Year() != 9999 {
		t.Fatalf("peek: %d messages", len(peek.Messages))
	}

	// dequeue with a short visibility timeout; the message comes back once
	// the timeout passes, with its dequeue count raised
	got, err := q.DequeueMessages(cx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(1)), VisibilityTimeout: to.Ptr(int32(1))})
	must(t, err)
	m := got.Messages[0]
	if len(got.Messages) != 1 || *m.MessageText != text || *m.DequeueCount != 1 || *m.MessageID != *put.Messages[0].MessageID {
		t.Fatalf("dequeue: %+v", m)
	}
	again, err := q.DequeueMessages(cx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(1))})
	must(t, err)
	if len(again.Messages) != 1 || *again.Messages[0].MessageText != "forever" {
		t.Fatalf("second dequeue: %d messages", len(again.Messages))
	}
	time.Sleep(1100 * time.Millisecond)
	back, err := q.DequeueMessages(cx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(30))})
	must(t, err)
	if len(back.Messages) != 2 || *back.Messages[0].MessageID != *m.MessageID || *back.Messages[0].DequeueCount != 2 {
		t.Fatalf("after the timeout: %d messages", len(back.Messages))
	}
	m = back.Messages[0]

	// a stale pop receipt no longer names the message
	_, err = q.DeleteMessage(cx, *got.Messages[0].MessageID, *got.Messages[0].PopReceipt, nil)
	wantErrorCode(t, err, "MessageNotFound")
	_, err = q.DeleteMessage(cx, *m.MessageID, "not a receipt", nil)
	wantErrorCode(t, err, "InvalidQueryParameterValue")

	// update: new text, visible now, new receipt
	upd, err := q.UpdateMessage(cx, *m.MessageID, *m.PopReceipt, "updated "+canary, &azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(int32(0))})
	must(t, err)
	_, err = q.UpdateMessage(cx, *m.MessageID, *m.PopReceipt, "again", nil)
	wantErrorCode(t, err, "MessageNotFound")
	peek, err = q.PeekMessages(cx, nil)
	must(t, err)
	if len(peek.Messages) != 1 || *peek.Messages[0].MessageText != "updated "+canary {
		t.Fatalf("peek after update: %+v", peek.Messages)
	}
	_, err = q.DeleteMessage(cx, *m.MessageID, *upd.PopReceipt, nil)
	must(t, err)

	// the 64 KiB limit: exactly 64 KiB is stored, one byte more is refused
	big := strings.Repeat("x", 64<<10)
	_, err = q.EnqueueMessage(cx, big, nil)
	must(t, err)
	_, err = q.EnqueueMessage(cx, big+"y", nil)
	wantErrorCode(t, err, "RequestBodyTooLarge")
	props, err = q.GetProperties(cx, nil)
	must(t, err)
	if *props.ApproximateMessagesCount != 3 {
		t.Fatalf("count after the limit checks: %d", *props.ApproximateMessagesCount)
	}

	// clear, then delete the queue
	_, err = q.ClearMessages(cx, nil)
	must(t, err)
	peek, err = q.PeekMessages(cx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	must(t, err)
	if len(peek.Messages) != 0 {
		t.Fatalf("%d messages after clear", len(peek.Messages))
	}
	_, err = sc.DeleteQueue(cx, "goq-0", nil)
	must(t, err)
	_, err = q.EnqueueMessage(cx, "x", nil)
	wantErrorCode(t, err, "QueueNotFound")
	_, err = sc.DeleteQueue(cx, "goq-0", nil)
	wantErrorCode(t, err, "QueueNotFound")

	// leave some messages behind for the canary scan
	q1 := sc.NewQueueClient("goq-1")
	for i := 0; i < 20; i++ {
		_, err := q1.EnqueueMessage(cx, fmt.Sprintf("%s message %d", canary, i), nil)
		must(t, err)
	}
	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{canary, "hello <queue>"}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}
