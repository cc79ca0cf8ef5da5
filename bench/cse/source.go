package main

import (
	"crypto/rand"
	"io"
)

// plainRegion is one region of random plaintext; sources repeat it, so
// that producing input costs a memory copy, as reading a file or socket does.
var plainRegion = func() []byte {
	b := make([]byte, region)
	_, _ = rand.Read(b)
	return b
}()

func newSource(n int64) *repeat { return &repeat{block: plainRegion, left: n} }

// repeat yields block again and again, left bytes in all.
type repeat struct {
	block []byte
	off   int
	left  int64
}

func (r *repeat) Read(b []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), r.left)]
	n := 0
	for n < len(b) {
		c := copy(b[n:], r.block[r.off:])
		n += c
		r.off = (r.off + c) % len(r.block)
	}
	r.left -= int64(n)
	return n, nil
}
