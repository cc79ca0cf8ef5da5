// Package csequeue adds client-side encryption to the official azqueue
// client: message texts are encrypted before they are sent and decrypted
// when they are received or peeked, in the envelope the Azure Storage SDKs
// use ({"EncryptedMessageContents": …, "EncryptionData": …}).
//
// Most users need two calls:
//
//	q, _ := csequeue.NewClient(queueClient, csequeue.Options{KEK: kek, RequireEncryption: true})
//	_, _ = q.EnqueueMessage(ctx, "hello", nil)
//	resp, _ := q.DequeueMessages(ctx, nil) // resp.Messages[i].MessageText is plaintext
//
// Messages are written as protocol 2.0 (one AES-256-GCM region), or 1.0
// with Options.LegacyProtocol1; both are read. Like the Python SDK, the
// text is encrypted as given: apply any message encoding (base64) before
// EnqueueMessage. Envelopes that .NET base64-encoded after encrypting are
// read too. The empty message is never encrypted, as in every SDK.
//
// A batch in which some messages fail to decrypt still returns all of them:
// those that failed have a nil MessageText, and the error (a *MessageError
// per message, joined) says which, so they can be deleted with their pop
// receipts instead of coming back forever.
package csequeue
