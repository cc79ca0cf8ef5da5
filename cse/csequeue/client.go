package csequeue

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/atrest/atrest/cse"
)

// Options configure a Client.
type Options struct {
	// KEK wraps the content key of every message sent and unwraps received
	// messages whose key id it has. Required for sending.
	KEK cse.KeyEncryptionKey
	// Resolver finds the KEK for messages written under other key ids.
	Resolver cse.KeyResolver
	// RequireEncryption refuses received texts that are not envelopes
	// (cse.ErrNotEncrypted) instead of returning them as they are.
	RequireEncryption bool
	// LegacyProtocol1 sends protocol 1.0 (AES-CBC without integrity) for
	// readers that know nothing newer.
	LegacyProtocol1 bool
}

// Client encrypts and decrypts the messages of one queue.
type Client struct {
	q   *azqueue.QueueClient
	enc cse.Encrypter
	dec cse.Decrypter
}

// NewClient wraps q. The Client is safe for concurrent use.
func NewClient(q *azqueue.QueueClient, o Options) (*Client, error) {
	if q == nil {
		return nil, errors.New("csequeue: nil queue client")
	}
	if o.KEK == nil && o.Resolver == nil {
		return nil, errors.New("csequeue: a KEK or a key resolver is required")
	}
	return &Client{
		q:   q,
		enc: cse.Encrypter{KEK: o.KEK, LegacyProtocol1: o.LegacyProtocol1},
		dec: cse.Decrypter{KEK: o.KEK, Resolver: o.Resolver, RequireEncryption: o.RequireEncryption},
	}, nil
}

// QueueClient is the plain azqueue client; what passes through it is not
// encrypted or decrypted.
func (c *Client) QueueClient() *azqueue.QueueClient { return c.q }

// EnqueueMessage encrypts text and sends the envelope.
func (c *Client) EnqueueMessage(ctx context.Context, text string, o *azqueue.EnqueueMessageOptions) (azqueue.EnqueueMessagesResponse, error) {
	env, err := c.enc.EncryptQueueMessage(ctx, text)
	if err != nil {
		return azqueue.EnqueueMessagesResponse{}, err
	}
	return c.q.EnqueueMessage(ctx, env, o)
}

// UpdateMessage replaces a message's text with text, encrypted under a
// fresh content key.
func (c *Client) UpdateMessage(ctx context.Context, messageID, popReceipt, text string, o *azqueue.UpdateMessageOptions) (azqueue.UpdateMessageResponse, error) {
	env, err := c.enc.EncryptQueueMessage(ctx, text)
	if err != nil {
		return azqueue.UpdateMessageResponse{}, err
	}
	return c.q.UpdateMessage(ctx, messageID, popReceipt, env, o)
}

// DequeueMessage receives one message and decrypts it.
func (c *Client) DequeueMessage(ctx context.Context, o *azqueue.DequeueMessageOptions) (azqueue.DequeueMessagesResponse, error) {
	resp, err := c.q.DequeueMessage(ctx, o)
	if err != nil {
		return resp, err
	}
	return resp, c.decryptDequeued(ctx, resp.Messages)
}

// DequeueMessages receives messages and decrypts them.
func (c *Client) DequeueMessages(ctx context.Context, o *azqueue.DequeueMessagesOptions) (azqueue.DequeueMessagesResponse, error) {
	resp, err := c.q.DequeueMessages(ctx, o)
	if err != nil {
		return resp, err
	}
	return resp, c.decryptDequeued(ctx, resp.Messages)
}

// PeekMessage reads one message without receiving it and decrypts it.
func (c *Client) PeekMessage(ctx context.Context, o *azqueue.PeekMessageOptions) (azqueue.PeekMessagesResponse, error) {
	resp, err := c.q.PeekMessage(ctx, o)
	if err != nil {
		return resp, err
	}
	return resp, c.decryptPeeked(ctx, resp.Messages)
}

// PeekMessages reads messages without receiving them and decrypts them.
func (c *Client) PeekMessages(ctx context.Context, o *azqueue.PeekMessagesOptions) (azqueue.PeekMessagesResponse, error) {
	resp, err := c.q.PeekMessages(ctx, o)
	if err != nil {
		return resp, err
	}
	return resp, c.decryptPeeked(ctx, resp.Messages)
}

// MessageError is a message that could not be decrypted.
type MessageError struct {
	MessageID string
	Err       error
}

func (e *MessageError) Error() string {
	return fmt.Sprintf("csequeue: message %s: %v", e.MessageID, e.Err)
}

// Unwrap lets errors.Is see the cse error.
func (e *MessageError) Unwrap() error { return e.Err }

func (c *Client) decryptDequeued(ctx context.Context, msgs []*azqueue.DequeuedMessage) error {
	var errs []error
	for _, m := range msgs {
		if m != nil {
			errs = append(errs, c.decryptText(ctx, m.MessageID, &m.MessageText))
		}
	}
	return errors.Join(errs...)
}

func (c *Client) decryptPeeked(ctx context.Context, msgs []*azqueue.PeekedMessage) error {
	var errs []error
	for _, m := range msgs {
		if m != nil {
			errs = append(errs, c.decryptText(ctx, m.MessageID, &m.MessageText))
		}
	}
	return errors.Join(errs...)
}

// decryptText replaces *text with its plaintext, or with nil on failure.
func (c *Client) decryptText(ctx context.Context, id *string, text **string) error {
	var in string
	if *text != nil {
		in = **text
	}
	out, err := c.dec.DecryptQueueMessage(ctx, in)
	if err != nil {
		*text = nil
		var mid string
		if id != nil {
			mid = *id
		}
		return &MessageError{MessageID: mid, Err: err}
	}
	*text = &out
	return nil
}
