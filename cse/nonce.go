package cse

import (
	"bytes"
	"encoding/binary"
)

// The three region-nonce layouts the SDKs write for 2.x (spec §5.3). This
// package writes nonceBigEndian96 (Python's): it is region 0 = twelve zero
// bytes, and current .NET and Java readers accept it in their order checks.
const (
	nonceBigEndian96       uint8 = 1 << iota // Python: i as a 12-byte big-endian integer
	nonceBigEndian64                         // Java: i as 8-byte big-endian, then four zero bytes
	nonceLittleEndianPlus1                   // .NET: four zero bytes, then i+1 as 8-byte little-endian
	allNonceLayouts        = nonceBigEndian96 | nonceBigEndian64 | nonceLittleEndianPlus1
)

// putNonce writes the nonce that layout assigns to region i.
func putNonce(dst []byte, layout uint8, i uint64) {
	clear(dst[:nonceSize])
	switch layout {
	case nonceBigEndian96:
		binary.BigEndian.PutUint64(dst[4:], i)
	case nonceBigEndian64:
		binary.BigEndian.PutUint64(dst[:8], i)
	case nonceLittleEndianPlus1:
		binary.LittleEndian.PutUint64(dst[4:], i+1)
	}
}

// nonceSequence tracks which layouts are consistent with every region seen
// so far. A region whose nonce matches no remaining layout at its absolute
// index was reordered, duplicated or spliced in, and fails decryption.
type nonceSequence struct {
	layouts uint8 // candidates left; 0 once the check has failed
	off     bool  // accept any nonce (data from non-SDK writers)
}

func newNonceSequence(anyNonce bool) nonceSequence {
	return nonceSequence{layouts: allNonceLayouts, off: anyNonce}
}

func (s *nonceSequence) accept(i uint64, nonce []byte) bool {
	if s.off {
		return true
	}
	var want [nonceSize]byte
	var left uint8
	for l := uint8(1); l <= s.layouts; l <<= 1 {
		if s.layouts&l == 0 {
			continue
		}
		putNonce(want[:], l, i)
		if bytes.Equal(nonce, want[:]) {
			left |= l
		}
	}
	s.layouts = left
	return left != 0
}
