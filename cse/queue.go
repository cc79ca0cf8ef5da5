package cse

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Queue messages (spec §8): the stored message text is the JSON envelope
//
//	{"EncryptedMessageContents": base64(ciphertext), "EncryptionData": {...}}
//
// 1.0 ciphertext is AES-CBC/PKCS #7 under ContentEncryptionIV; 2.0 is one
// GCM region, nonce ‖ ciphertext ‖ tag.

const (
	envelopeContents = "EncryptedMessageContents"
	envelopeData     = "EncryptionData"
)

// EncryptQueueMessage encrypts text (as UTF-8) and returns the envelope to
// send as the message text. It follows the Python SDK's order: any message
// encoding (such as base64) is the caller's, applied to text before this
// call, and the envelope itself is sent as is. An empty message is returned
// unchanged, unencrypted, as the SDKs do.
//
// The 2.0 nonce is twelve zero bytes: region 0 in the Python and Java
// layouts, safe because every message has its own CEK.
func (e *Encrypter) EncryptQueueMessage(ctx context.Context, text string) (string, error) {
	if text == "" {
		return "", nil
	}
	protocol := Protocol2_0
	if e.LegacyProtocol1 {
		protocol = Protocol1_0
	}
	ck, err := e.newContentKey(ctx, protocol, DefaultRegionSize)
	if err != nil {
		return "", err
	}
	return encryptQueueWith(ck, text)
}

func encryptQueueWith(ck contentKey, text string) (string, error) {
	defer ck.cek.wipe()
	var ct []byte
	if ck.ed.isV2() {
		if int64(len(text)) > ck.ed.EncryptedRegionInfo.DataLength {
			return "", fmt.Errorf("cse: queue message of %d bytes exceeds one region", len(text))
		}
		ct = make([]byte, nonceSize, nonceSize+len(text)+tagSize)
		ct = newGCM(ck.cek).Seal(ct, ct[:nonceSize], []byte(text), nil)
	} else {
		ct = cbcEncrypt(newAESBlock(ck.cek), ck.ed.ContentEncryptionIV, []byte(text))
	}
	var o pyObject
	o.str(envelopeContents, base64.StdEncoding.EncodeToString(ct))
	o.raw(envelopeData, []byte(ck.ed.String()))
	return string(o.bytes()), nil
}

// DecryptQueueMessage decrypts a message text. It accepts the envelope as
// is (Python, Go) or base64-encoded (.NET with base64 message encoding). A
// text that is not an envelope is returned unchanged, or is ErrNotEncrypted
// under RequireEncryption; the empty message is returned unchanged always,
// as the SDKs never encrypt it.
func (d *Decrypter) DecryptQueueMessage(ctx context.Context, messageText string) (string, error) {
	if messageText == "" {
		return "", nil
	}
	env := queueEnvelope(messageText)
	if env == nil {
		if d.RequireEncryption {
			return "", ErrNotEncrypted
		}
		return messageText, nil
	}
	rawCT, err := member(env, envelopeContents, true)
	if err != nil {
		return "", err
	}
	var ctText string
	if err := json.Unmarshal(rawCT, &ctText); err != nil {
		return "", malformed("%s is not a string", envelopeContents)
	}
	ct, err := base64.StdEncoding.DecodeString(ctText)
	if err != nil {
		return "", malformed("%s is not base64", envelopeContents)
	}
	rawED, err := member(env, envelopeData, true)
	if err != nil {
		return "", err
	}
	ed, err := ParseEncryptionData(rawED)
	if err != nil {
		return "", err
	}
	cek, err := unwrapCEK(ctx, d.KEK, d.Resolver, ed)
	if err != nil {
		return "", err
	}
	defer cek.wipe()
	if !ed.isV2() {
		pt, err := cbcDecrypt(newAESBlock(cek), ed.ContentEncryptionIV, ct)
		return string(pt), err
	}
	if len(ct) < nonceSize+tagSize {
		return "", ErrDecrypt
	}
	pt, err := newGCM(cek).Open(nil, ct[:nonceSize], ct[nonceSize:], nil)
	if err != nil {
		return "", ErrDecrypt
	}
	return string(pt), nil
}

// queueEnvelope returns the envelope's members when text is one, directly
// or base64-encoded: a JSON object with either envelope member.
func queueEnvelope(text string) map[string]json.RawMessage {
	if env := envelopeObject([]byte(text)); env != nil {
		return env
	}
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text)); err == nil {
		return envelopeObject(b)
	}
	return nil
}

func envelopeObject(b []byte) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil || m == nil {
		return nil
	}
	for k := range m {
		if strings.EqualFold(k, envelopeContents) || strings.EqualFold(k, envelopeData) {
			return m
		}
	}
	return nil
}
