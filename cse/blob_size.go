package cse

import (
	"fmt"
	"math"
)

// Size and range arithmetic for blobs (spec §5.1, §7). Ranges are inclusive
// byte positions, as in the x-ms-range header.

// ByteRange is an inclusive range of byte positions.
type ByteRange struct{ First, Last int64 }

// Length is the number of bytes in r.
func (r ByteRange) Length() int64 { return r.Last - r.First + 1 }

// String formats r as an x-ms-range value.
func (r ByteRange) String() string { return fmt.Sprintf("bytes=%d-%d", r.First, r.Last) }

// regionSizes returns D and R = N + D + T for 2.x.
func (ed *EncryptionData) regionSizes() (d, r int64) {
	ri := ed.EncryptedRegionInfo
	return ri.DataLength, ri.NonceLength + ri.DataLength + tagSize
}

// CiphertextSize is the stored size of a plaintext of n bytes:
// 16·(⌊n/16⌋+1) for 1.0, n + 28·⌈n/D⌉ for 2.x.
func (ed *EncryptionData) CiphertextSize(n int64) (int64, error) {
	if err := ed.check(); err != nil {
		return 0, err
	}
	if !ed.isV2() {
		return blockSize * (n/blockSize + 1), nil
	}
	d, r := ed.regionSizes()
	return n + (r-d)*ceilDiv(n, d), nil
}

// PlaintextSize recovers the plaintext size from the stored size for 2.x:
// n = c − 28·⌈c/R⌉. A size that no plaintext produces (a trailing partial
// region no longer than nonce + tag) is ErrDecrypt. For 1.0 the size is only
// known after decrypting the last block, and PlaintextSize returns -1.
func (ed *EncryptionData) PlaintextSize(c int64) (int64, error) {
	if err := ed.check(); err != nil {
		return 0, err
	}
	if c < 0 {
		return 0, ErrInvalidRange
	}
	if !ed.isV2() {
		if c == 0 || c%blockSize != 0 {
			return 0, ErrDecrypt
		}
		return -1, nil
	}
	d, r := ed.regionSizes()
	full, rest := c/r, c%r
	if rest != 0 && rest <= r-d {
		return 0, ErrDecrypt
	}
	n := full * d
	if rest != 0 {
		n += rest - (r - d)
	}
	return n, nil
}

// CiphertextRange returns the stored bytes to fetch to decrypt plaintext
// bytes [offset, offset+length). With ciphertextSize < 0 it returns the range
// to request (which may run past the end, as the SDKs' requests do); with the
// stored size it returns what the service serves (clamped to the blob), and
// ErrInvalidRange when nothing of the range exists.
//
// 2.x fetches whole regions a..b (a = ⌊offset/D⌋). 1.0 fetches whole blocks
// plus the block before the first, which is that block's CBC IV.
func (ed *EncryptionData) CiphertextRange(offset, length, ciphertextSize int64) (ByteRange, error) {
	if err := ed.check(); err != nil {
		return ByteRange{}, err
	}
	if offset < 0 || length < 1 {
		return ByteRange{}, ErrInvalidRange
	}
	last := offset + min(length, math.MaxInt64-offset) - 1
	var rng ByteRange
	if ed.isV2() {
		d, r := ed.regionSizes()
		if ciphertextSize >= 0 {
			n, err := ed.PlaintextSize(ciphertextSize)
			if err != nil {
				return ByteRange{}, err
			}
			if offset >= n {
				return ByteRange{}, ErrInvalidRange
			}
		}
		rng = ByteRange{First: offset / d * r, Last: mulSat(last/d+1, r) - 1}
	} else {
		first := offset / blockSize * blockSize
		if ciphertextSize >= 0 && first >= ciphertextSize {
			return ByteRange{}, ErrInvalidRange // only the IV block would be left
		}
		if first > 0 {
			first -= blockSize
		}
		rng = ByteRange{First: first, Last: last/blockSize*blockSize + blockSize - 1}
	}
	if ciphertextSize >= 0 {
		if rng.First >= ciphertextSize {
			return ByteRange{}, ErrInvalidRange
		}
		rng.Last = min(rng.Last, ciphertextSize-1)
	}
	return rng, nil
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// mulSat multiplies non-negative a and b, saturating at MaxInt64.
func mulSat(a, b int64) int64 {
	if b != 0 && a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}
