package cse

import (
	"context"
	"crypto/cipher"
	"fmt"
	"io"
)

// BlobEncryptor encrypts one blob under one content key. Besides the whole
// blob it can encrypt any run of whole 2.x regions on its own, which is what
// uploads that stage regions in parallel, or resume after an interruption,
// need.
type BlobEncryptor struct {
	ed       *EncryptionData
	metadata string
	aead     cipher.AEAD  // 2.x
	block    cipher.Block // 1.0
}

// NewBlob draws a fresh content key for one blob and wraps it with the KEK.
// The metadata is ready at once, so it can go on the first request.
func (e *Encrypter) NewBlob(ctx context.Context) (*BlobEncryptor, error) {
	protocol, region, err := e.blobProtocol()
	if err != nil {
		return nil, err
	}
	ck, err := e.newContentKey(ctx, protocol, region)
	if err != nil {
		return nil, err
	}
	return newBlobEncryptor(ck), nil
}

func newBlobEncryptor(ck contentKey) *BlobEncryptor {
	defer ck.cek.wipe()
	ck.ed.EncryptionMode = EncryptionModeFullBlob
	b := &BlobEncryptor{ed: ck.ed, metadata: ck.ed.String()}
	if ck.ed.isV2() {
		b.aead = newGCM(ck.cek)
	} else {
		b.block = newAESBlock(ck.cek)
	}
	return b
}

// ResumeBlob recovers the content key of a 2.x blob from the metadata
// NewBlob gave, by unwrapping it with the KEK, so that an interrupted upload
// can go on encrypting where it stopped. Keep only the metadata between the
// two: it holds the wrapped key, never the key itself. Protocol 1.0 is one
// CBC chain and cannot resume.
func (e *Encrypter) ResumeBlob(ctx context.Context, metadata string) (*BlobEncryptor, error) {
	ed, err := ParseEncryptionData([]byte(metadata))
	if err != nil {
		return nil, err
	}
	if !ed.isV2() {
		return nil, fmt.Errorf("%w: only protocol 2.x uploads can resume", ErrUnsupported)
	}
	cek, err := unwrapCEK(ctx, e.KEK, nil, ed)
	if err != nil {
		return nil, err
	}
	defer cek.wipe()
	return &BlobEncryptor{ed: ed, metadata: metadata, aead: newGCM(cek)}, nil
}

// Metadata is the value to store as blob metadata MetadataKey.
func (b *BlobEncryptor) Metadata() string { return b.metadata }

// EncryptionData is the parsed form of Metadata. Do not modify it.
func (b *BlobEncryptor) EncryptionData() *EncryptionData { return b.ed }

// RegionSize is the plaintext bytes per 2.x region, or 0 for protocol 1.0.
func (b *BlobEncryptor) RegionSize() int64 {
	if b.aead == nil {
		return 0
	}
	return b.ed.EncryptedRegionInfo.DataLength
}

// CiphertextSize is the stored size for a plaintext of n bytes. For 2.x it
// is also where the ciphertext of the region starting at plaintext n begins.
func (b *BlobEncryptor) CiphertextSize(n int64) int64 {
	c, _ := b.ed.CiphertextSize(n)
	return c
}

// NewReader encrypts a whole plaintext; memory use is one region.
func (b *BlobEncryptor) NewReader(plaintext io.Reader) io.Reader {
	return b.newChunks(plaintext, 0)
}

// NewReaderAt encrypts plaintext that begins at plaintext offset, a multiple
// of RegionSize, giving the stored bytes from CiphertextSize(offset) on.
// Stop reading after whole regions to get a self-contained run of them.
//
// A region encrypted twice reuses its nonce, so it must get the same
// plaintext both times (it then gives the same ciphertext). Different
// plaintext under a repeated GCM nonce reveals both plaintexts' XOR and lets
// an attacker forge regions: check that a resumed source is unchanged.
func (b *BlobEncryptor) NewReaderAt(plaintext io.Reader, offset int64) (io.Reader, error) {
	if b.aead == nil {
		return nil, fmt.Errorf("%w: protocol 1.0 is one CBC chain; encrypt it from the start", ErrUnsupported)
	}
	d := b.ed.EncryptedRegionInfo.DataLength
	if offset < 0 || offset%d != 0 {
		return nil, fmt.Errorf("%w: offset %d is not a multiple of the region size %d", ErrInvalidRange, offset, d)
	}
	return b.newChunks(plaintext, uint64(offset/d)), nil
}

func (b *BlobEncryptor) newChunks(plaintext io.Reader, firstRegion uint64) *chunks {
	if b.aead != nil {
		s := newRegionSealer(b.aead, int(b.ed.EncryptedRegionInfo.DataLength), plaintext)
		s.index = firstRegion
		return &s.chunks
	}
	return &newCBCSealer(b.block, b.ed.ContentEncryptionIV, plaintext).chunks
}
