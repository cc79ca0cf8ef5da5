package cse

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"io"
)

// BlobDecryptor decrypts one blob whose content key has been unwrapped.
type BlobDecryptor struct {
	ed       *EncryptionData
	aead     cipher.AEAD  // 2.x
	block    cipher.Block // 1.0
	anyNonce bool
}

// EncryptionData is the blob's parsed metadata. Do not modify it.
func (b *BlobDecryptor) EncryptionData() *EncryptionData { return b.ed }

// NewReader decrypts the whole stored blob. A 2.x region's plaintext is
// released only after its tag verifies; errors are ErrDecrypt.
//
// The 2.x format does not authenticate the number of regions: cutting the
// blob at a region boundary yields a shorter plaintext. Use NewReaderSize
// when the plaintext size is known from a trusted source.
func (b *BlobDecryptor) NewReader(ciphertext io.Reader) io.Reader {
	if b.aead != nil {
		return newRegionOpener(b.aead, b.ed.EncryptedRegionInfo, ciphertext, 0, -1, b.anyNonce)
	}
	return newCBCOpener(b.block, b.ed.ContentEncryptionIV, ciphertext, -1, true)
}

// NewReaderSize is NewReader for a plaintext whose size the caller knows
// independently of the storage service. A stream that is truncated (even at
// a region boundary) or extended is then ErrDecrypt.
func (b *BlobDecryptor) NewReaderSize(ciphertext io.Reader, plaintextSize int64) io.Reader {
	c, err := b.ed.CiphertextSize(plaintextSize)
	if err != nil || plaintextSize < 0 {
		return errReader{ErrInvalidRange}
	}
	if b.aead != nil {
		o := newRegionOpener(b.aead, b.ed.EncryptedRegionInfo, ciphertext, 0, c, b.anyNonce)
		o.strictEnd = true
		return o
	}
	o := newCBCOpener(b.block, b.ed.ContentEncryptionIV, ciphertext, c, true)
	o.wantPad, o.strictEnd = int(c-plaintextSize), true
	return o
}

// CiphertextRange is EncryptionData().CiphertextRange.
func (b *BlobDecryptor) CiphertextRange(offset, length, ciphertextSize int64) (ByteRange, error) {
	return b.ed.CiphertextRange(offset, length, ciphertextSize)
}

// NewRangeReader decrypts plaintext bytes [offset, offset+length) from
// served, the stored bytes CiphertextRange(offset, length, ciphertextSize)
// named, read from their first byte. ciphertextSize is the stored blob size
// (from Content-Range); it tells whether the range holds the padded final
// 1.0 block and lets truncated input fail. The result is exactly length
// bytes unless the range runs past the end of the plaintext.
func (b *BlobDecryptor) NewRangeReader(served io.Reader, offset, length, ciphertextSize int64) (io.Reader, error) {
	if ciphertextSize < 0 {
		return nil, ErrInvalidRange
	}
	rng, err := b.ed.CiphertextRange(offset, length, ciphertextSize)
	if err != nil {
		return nil, err
	}
	if b.aead != nil {
		d, _ := b.ed.regionSizes()
		n, _ := b.ed.PlaintextSize(ciphertextSize) // checked by CiphertextRange
		first := offset / d
		o := newRegionOpener(b.aead, b.ed.EncryptedRegionInfo, served, uint64(first), rng.Length(), b.anyNonce)
		return &window{src: o, skip: offset - first*d, left: min(length, n-offset), exact: true}, nil
	}
	iv, plainStart, ctLen := b.ed.ContentEncryptionIV, int64(0), rng.Length()
	if rng.First > 0 {
		iv = make([]byte, blockSize)
		if _, err := io.ReadFull(served, iv); err != nil {
			return nil, ErrDecrypt
		}
		plainStart, ctLen = rng.First+blockSize, ctLen-blockSize
	}
	unpad := rng.Last == ciphertextSize-1
	o := newCBCOpener(b.block, iv, served, ctLen, unpad)
	return &window{src: o, skip: offset - plainStart, left: length, exact: !unpad}, nil
}

// DecryptRange is NewRangeReader over a byte slice, returning the plaintext.
func (b *BlobDecryptor) DecryptRange(served []byte, offset, length, ciphertextSize int64) ([]byte, error) {
	r, err := b.NewRangeReader(bytes.NewReader(served), offset, length, ciphertextSize)
	if err != nil {
		return nil, err
	}
	pt, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return pt, nil
}

// window skips the plaintext before a range and stops after it. With exact
// set, running out of plaintext early is ErrDecrypt.
type window struct {
	src   io.Reader
	skip  int64
	left  int64
	exact bool
}

func (w *window) Read(p []byte) (int, error) {
	if w.skip > 0 {
		if n, err := io.CopyN(io.Discard, w.src, w.skip); err != nil {
			w.skip -= n
			return 0, w.short(err)
		}
		w.skip = 0
	}
	if w.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > w.left {
		p = p[:w.left]
	}
	n, err := w.src.Read(p)
	w.left -= int64(n)
	if err != nil {
		return n, w.short(err)
	}
	return n, nil
}

func (w *window) short(err error) error {
	if errors.Is(err, io.EOF) && w.exact {
		return ErrDecrypt
	}
	return err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
