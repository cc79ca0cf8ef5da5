package cse

import (
	"context"
	"io"
)

// EncryptedBlob is the ciphertext of one blob as an io.Reader, with the
// metadata to store beside it. Memory use is one region whatever the size.
type EncryptedBlob struct {
	ed       *EncryptionData
	metadata string
	r        *chunks
}

// EncryptBlob starts encrypting plaintext. The metadata is known at once, so
// it can go on the first upload request; the ciphertext is read from the
// returned blob. An empty plaintext gives an empty 2.x ciphertext.
func (e *Encrypter) EncryptBlob(ctx context.Context, plaintext io.Reader) (*EncryptedBlob, error) {
	b, err := e.NewBlob(ctx)
	if err != nil {
		return nil, err
	}
	return &EncryptedBlob{ed: b.ed, metadata: b.metadata, r: b.newChunks(plaintext, 0)}, nil
}

func encryptBlobWith(ck contentKey, plaintext io.Reader) *EncryptedBlob {
	b := newBlobEncryptor(ck)
	return &EncryptedBlob{ed: b.ed, metadata: b.metadata, r: b.newChunks(plaintext, 0)}
}

// Read reads ciphertext.
func (b *EncryptedBlob) Read(p []byte) (int, error) { return b.r.Read(p) }

// WriteTo writes the remaining ciphertext to w a region at a time; io.Copy
// uses it to skip a copy.
func (b *EncryptedBlob) WriteTo(w io.Writer) (int64, error) { return b.r.WriteTo(w) }

// Metadata is the value to store as blob metadata MetadataKey ("encryptiondata").
func (b *EncryptedBlob) Metadata() string { return b.metadata }

// EncryptionData is the parsed form of Metadata. Do not modify it.
func (b *EncryptedBlob) EncryptionData() *EncryptionData { return b.ed }

// CiphertextSize is the stored size for a plaintext of n bytes, e.g. for a
// Content-Length header.
func (b *EncryptedBlob) CiphertextSize(n int64) int64 {
	c, _ := b.ed.CiphertextSize(n)
	return c
}
