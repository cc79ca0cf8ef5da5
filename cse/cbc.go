package cse

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"io"
)

// Protocol 1.0: one AES-256-CBC stream with PKCS #7 padding and no integrity.

const cbcChunk = 64 << 10 // plaintext or ciphertext bytes handled per step

func newAESBlock(cek secret) cipher.Block {
	block, err := aes.NewCipher(cek.bytes())
	if err != nil {
		panic("cse: " + err.Error()) // cek is always 32 bytes
	}
	return block
}

// pkcs7Pad appends 1..16 bytes of padding.
func pkcs7Pad(b []byte) []byte {
	n := blockSize - len(b)%blockSize
	for range n {
		b = append(b, byte(n))
	}
	return b
}

// pkcs7Unpad returns the unpadded length of the final block, checking every
// padding byte in constant time (1.0 is a padding oracle if errors leak).
func pkcs7Unpad(last []byte) (int, bool) {
	n := int(last[blockSize-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, blockSize)
	for i := range blockSize {
		inPad := subtle.ConstantTimeLessOrEq(blockSize, i+n)
		good &= subtle.ConstantTimeSelect(inPad, subtle.ConstantTimeByteEq(last[i], byte(n)), 1)
	}
	if good != 1 {
		return 0, false
	}
	return blockSize - n, true
}

// cbcEncrypt pads and encrypts a whole message (queue messages, table properties).
func cbcEncrypt(block cipher.Block, iv, plaintext []byte) []byte {
	b := pkcs7Pad(append(make([]byte, 0, len(plaintext)+blockSize), plaintext...))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(b, b)
	return b
}

// cbcDecrypt decrypts and unpads a whole message.
func cbcDecrypt(block cipher.Block, iv, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) == 0 || len(ciphertext)%blockSize != 0 {
		return nil, ErrDecrypt
	}
	b := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(b, ciphertext)
	n, ok := pkcs7Unpad(b[len(b)-blockSize:])
	if !ok {
		return nil, ErrDecrypt
	}
	return b[:len(b)-blockSize+n], nil
}

// cbcSealer streams plaintext to padded CBC ciphertext.
type cbcSealer struct {
	chunks
	mode cipher.BlockMode
	src  io.Reader
	buf  []byte
	last bool
}

func newCBCSealer(block cipher.Block, iv []byte, src io.Reader) *cbcSealer {
	s := &cbcSealer{mode: cipher.NewCBCEncrypter(block, iv), src: src, buf: make([]byte, cbcChunk+blockSize)}
	s.next = s.step
	return s
}

func (s *cbcSealer) step() error {
	if s.last {
		return io.EOF
	}
	n, err := io.ReadFull(s.src, s.buf[:cbcChunk])
	b := s.buf[:n]
	switch err {
	case nil:
	case io.EOF, io.ErrUnexpectedEOF:
		s.last = true
		b = pkcs7Pad(b) // a full padding block when the data ended on a chunk
	default:
		return err
	}
	s.mode.CryptBlocks(b, b)
	s.out = b
	return nil
}

// cbcOpener streams CBC ciphertext to plaintext. It holds back the last
// block until the stream ends, so padding can be checked and removed.
type cbcOpener struct {
	chunks
	mode  cipher.BlockMode
	src   io.Reader
	unpad bool
	left  int64 // ciphertext still expected when known, else -1
	// wantPad is the padding length a trusted plaintext size implies, or -1.
	wantPad int
	// strictEnd makes data beyond a known total an error.
	strictEnd bool
	buf       []byte // [held last block (16)][chunk]
	held      bool   // buf[:16] holds a decrypted block not yet released
	tailAt    int    // where the newest last block sits until it moves to buf[:16]
	last      bool
}

func newCBCOpener(block cipher.Block, iv []byte, src io.Reader, ciphertextLen int64, unpad bool) *cbcOpener {
	o := &cbcOpener{
		mode: cipher.NewCBCDecrypter(block, iv), src: src, unpad: unpad,
		left: ciphertextLen, wantPad: -1, buf: make([]byte, blockSize+cbcChunk),
	}
	o.next = o.step
	return o
}

func (o *cbcOpener) step() error {
	if o.last {
		return io.EOF
	}
	if o.tailAt > 0 { // the previous chunk's output has been consumed
		copy(o.buf[:blockSize], o.buf[o.tailAt:o.tailAt+blockSize])
		o.held, o.tailAt = true, 0
	}
	want := int64(cbcChunk)
	if o.left >= 0 {
		want = min(want, o.left)
	}
	var n int
	var err error
	if want > 0 {
		n, err = io.ReadFull(o.src, o.buf[blockSize:blockSize+want])
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF || want == 0:
		if o.left >= 0 && int64(n) < want {
			return ErrDecrypt // truncated
		}
	case err != nil:
		return err
	}
	if n%blockSize != 0 {
		return ErrDecrypt
	}
	if n == 0 {
		if o.strictEnd && hasMore(o.src) {
			return ErrDecrypt
		}
		return o.finish()
	}
	chunk := o.buf[blockSize : blockSize+n]
	o.mode.CryptBlocks(chunk, chunk)
	if o.left >= 0 {
		o.left -= int64(n)
	}
	start := blockSize
	if o.held {
		start = 0
	}
	o.tailAt = n // the chunk's last block is buf[n : n+16]; hold it back
	o.out = o.buf[start:o.tailAt]
	o.held = false
	return nil
}

// finish releases the held last block, unpadded if this range ends the blob.
func (o *cbcOpener) finish() error {
	o.last = true
	if !o.held {
		return ErrDecrypt // no ciphertext at all: 1.0 always has a block
	}
	last := o.buf[:blockSize]
	o.held = false
	if !o.unpad {
		o.out = last
		return nil
	}
	n, ok := pkcs7Unpad(last)
	if !ok || (o.wantPad >= 0 && blockSize-n != o.wantPad) {
		return ErrDecrypt
	}
	o.out = last[:n]
	return nil
}
