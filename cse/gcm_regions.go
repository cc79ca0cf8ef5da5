package cse

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"io"
)

// Protocol 2.x streams: each region is nonce ‖ AES-256-GCM(region) ‖ tag,
// with no AAD. Both directions hold at most one region in memory.

func newGCM(cek secret) cipher.AEAD {
	block, err := aes.NewCipher(cek.bytes())
	if err != nil {
		panic("cse: " + err.Error()) // cek is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("cse: " + err.Error())
	}
	return aead
}

// regionSealer reads plaintext and yields 2.x ciphertext. An empty plaintext
// yields no regions at all, and a plaintext of k·D bytes exactly k regions.
type regionSealer struct {
	chunks
	aead  cipher.AEAD
	src   io.Reader
	data  int // D
	index uint64
	buf   []byte // nonce ‖ region ‖ tag
	last  bool   // a short region was read: the plaintext has ended
}

func newRegionSealer(aead cipher.AEAD, dataLen int, src io.Reader) *regionSealer {
	s := &regionSealer{aead: aead, src: src, data: dataLen, buf: make([]byte, nonceSize+dataLen+tagSize)}
	s.next = s.step
	return s
}

func (s *regionSealer) step() error {
	if s.last {
		return io.EOF
	}
	n, err := io.ReadFull(s.src, s.buf[nonceSize:nonceSize+s.data])
	switch err {
	case nil:
	case io.EOF:
		return io.EOF
	case io.ErrUnexpectedEOF:
		s.last = true
	default:
		return err
	}
	nonce := s.buf[:nonceSize]
	putNonce(nonce, nonceBigEndian96, s.index)
	sealed := s.aead.Seal(s.buf[nonceSize:nonceSize], nonce, s.buf[nonceSize:nonceSize+n], nil)
	s.out = s.buf[:nonceSize+len(sealed)]
	s.index++
	return nil
}

// regionOpener reads 2.x ciphertext and yields plaintext one verified region
// at a time: a region's plaintext is released only after its tag checks.
type regionOpener struct {
	chunks
	aead   cipher.AEAD
	src    io.Reader
	region int64  // R = N + D + T
	index  uint64 // absolute index of the next region
	// left is the ciphertext still expected when the total is known, else -1.
	// Known totals make truncated and extended streams fail.
	left int64
	// strictEnd makes data beyond a known total an error (full reads with a
	// trusted size); range reads may be handed more than they need.
	strictEnd bool
	nonces    nonceSequence
	buf       []byte
	last      bool
}

func newRegionOpener(aead cipher.AEAD, ri *EncryptedRegionInfo, src io.Reader, firstIndex uint64, ciphertextLen int64, anyNonce bool) *regionOpener {
	r := ri.DataLength + ri.NonceLength + tagSize
	// Grow towards R only as data arrives: D comes from unauthenticated
	// metadata, so a claimed 1 GiB region must not allocate 1 GiB up front.
	initial := min(r, DefaultRegionSize+nonceSize+tagSize)
	if ciphertextLen >= 0 {
		initial = min(initial, ciphertextLen)
	}
	o := &regionOpener{
		aead: aead, src: src, region: r, index: firstIndex, left: ciphertextLen,
		nonces: newNonceSequence(anyNonce), buf: make([]byte, 0, initial),
	}
	o.next = o.step
	return o
}

func (o *regionOpener) step() error {
	if o.last {
		return io.EOF
	}
	if o.left == 0 {
		o.last = true
		if o.strictEnd && hasMore(o.src) {
			return ErrDecrypt
		}
		return io.EOF
	}
	want := o.region
	if o.left > 0 {
		want = min(want, o.left)
	}
	n, err := o.fill(want)
	if err != nil && err != io.EOF {
		return err
	}
	if n < want {
		// The stream ended early. With a known total that is truncation;
		// otherwise this is the final (short) region, or the end.
		if o.left >= 0 {
			return ErrDecrypt
		}
		if n == 0 {
			return io.EOF
		}
		o.last = true
	}
	if n <= nonceSize+tagSize { // regions are never empty
		return ErrDecrypt
	}
	if o.strictEnd && o.left == n && hasMore(o.src) {
		return ErrDecrypt // data past the known end: fail before releasing the last region
	}
	nonce, sealed := o.buf[:nonceSize], o.buf[nonceSize:n]
	if !o.nonces.accept(o.index, nonce) {
		return ErrDecrypt
	}
	plain, err := o.aead.Open(sealed[:0], nonce, sealed, nil)
	if err != nil {
		return ErrDecrypt
	}
	o.out = plain
	o.index++
	if o.left > 0 {
		o.left -= n
	}
	return nil
}

// fill reads up to want bytes into buf, growing it as needed.
func (o *regionOpener) fill(want int64) (int64, error) {
	o.buf = o.buf[:0]
	for int64(len(o.buf)) < want {
		if len(o.buf) == cap(o.buf) {
			grown := make([]byte, len(o.buf), min(want, max(2*int64(cap(o.buf)), 64<<10)))
			copy(grown, o.buf)
			o.buf = grown
		}
		end := min(int64(cap(o.buf)), want)
		n, err := o.src.Read(o.buf[len(o.buf):end])
		o.buf = o.buf[:len(o.buf)+n]
		if errors.Is(err, io.EOF) {
			return int64(len(o.buf)), io.EOF
		}
		if err != nil {
			return int64(len(o.buf)), err
		}
	}
	return int64(len(o.buf)), nil
}

// hasMore reports whether r yields at least one more byte.
func hasMore(r io.Reader) bool {
	var one [1]byte
	n, _ := io.ReadFull(r, one[:])
	return n > 0
}
