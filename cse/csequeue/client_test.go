package csequeue

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/atrest/atrest/cse"
	"github.com/atrest/atrest/internal/atresttest"
)

func newKEK(t testing.TB) *cse.AESKEK {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	k, err := cse.NewAESKEK("local:csequeue-test", key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newQueue creates a queue on an in-process atrest.
func newQueue(t testing.TB, ctx context.Context, name string) *azqueue.QueueClient {
	t.Helper()
	sc, err := azqueue.NewServiceClientFromConnectionString(atresttest.ConnectionString(atresttest.Start(t)),
		&azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	q := sc.NewQueueClient(name)
	if _, err := q.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return q
}

// TestRoundTrip sends messages in both protocols and checks what the
// service stores and what comes back from peek, receive and update.
func TestRoundTrip(t *testing.T) {
	ctx := atresttest.Context(t)
	q := newQueue(t, ctx, "rtrip")
	kek := newKEK(t)
	for _, legacy := range []bool{false, true} {
		c, err := NewClient(q, Options{KEK: kek, RequireEncryption: true, LegacyProtocol1: legacy})
		if err != nil {
			t.Fatal(err)
		}
		text := "secret message ünïcode " + strings.Repeat("x", 1000)
		if _, err := c.EnqueueMessage(ctx, text, nil); err != nil {
			t.Fatal(err)
		}
		raw, err := q.PeekMessage(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		stored := *raw.Messages[0].MessageText
		protocol := `"Protocol": "2.0"`
		if legacy {
			protocol = `"Protocol": "1.0"`
		}
		if !strings.HasPrefix(stored, `{"EncryptedMessageContents": `) || !strings.Contains(stored, protocol) || strings.Contains(stored, "secret") {
			t.Fatalf("stored text %.120s", stored)
		}
		p, err := c.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(5))})
		if err != nil || len(p.Messages) != 1 || *p.Messages[0].MessageText != text {
			t.Fatalf("peek: %v", err)
		}
		d, err := c.DequeueMessage(ctx, nil)
		if err != nil || *d.Messages[0].MessageText != text {
			t.Fatalf("dequeue: %v", err)
		}
		m := d.Messages[0]
		u, err := c.UpdateMessage(ctx, *m.MessageID, *m.PopReceipt, "updated", nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err = c.DequeueMessages(ctx, nil)
		if err != nil || len(d.Messages) != 1 || *d.Messages[0].MessageText != "updated" {
			t.Fatalf("after update: %v", err)
		}
		if _, err := q.DeleteMessage(ctx, *d.Messages[0].MessageID, *d.Messages[0].PopReceipt, nil); err != nil {
			t.Fatal(err, u.PopReceipt)
		}
	}
}

// TestFailedMessages checks that plaintext (under RequireEncryption) and
// tampered messages are reported per message, with the others decrypted
// and the failed ones still deletable.
func TestFailedMessages(t *testing.T) {
	ctx := atresttest.Context(t)
	q := newQueue(t, ctx, "failed")
	kek := newKEK(t)
	strict, _ := NewClient(q, Options{KEK: kek, RequireEncryption: true})
	lax, _ := NewClient(q, Options{KEK: kek})

	env, err := (&cse.Encrypter{KEK: kek}).EncryptQueueMessage(ctx, "tampered")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(env, `": "`) + 4 // first byte of the base64 ciphertext
	// swap one base64 digit for another (a bit flip could leave base64
	// altogether, which is malformed rather than tampered)
	swap := "A"
	if env[i+20] == 'A' {
		swap = "B"
	}
	flipped := env[:i+20] + swap + env[i+21:]
	for _, text := range []string{"plain text", flipped} {
		if _, err := q.EnqueueMessage(ctx, text, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := strict.EnqueueMessage(ctx, "good", nil); err != nil {
		t.Fatal(err)
	}

	p, err := lax.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(3))})
	if !errors.Is(err, cse.ErrDecrypt) || errors.Is(err, cse.ErrNotEncrypted) {
		t.Fatalf("lax peek: %v", err)
	}
	if *p.Messages[0].MessageText != "plain text" || p.Messages[1].MessageText != nil || *p.Messages[2].MessageText != "good" {
		t.Fatal("lax peek: wrong texts")
	}

	d, err := strict.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(3))})
	if !errors.Is(err, cse.ErrNotEncrypted) || !errors.Is(err, cse.ErrDecrypt) || len(d.Messages) != 3 {
		t.Fatalf("strict dequeue: %v", err)
	}
	var me *MessageError
	if !errors.As(err, &me) || me.MessageID != *d.Messages[0].MessageID {
		t.Fatalf("message error: %v", err)
	}
	if d.Messages[0].MessageText != nil || d.Messages[1].MessageText != nil || *d.Messages[2].MessageText != "good" {
		t.Fatal("strict dequeue: wrong texts")
	}
	for _, m := range d.Messages {
		if _, err := q.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
			t.Fatal(err)
		}
	}
}
