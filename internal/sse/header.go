package sse

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic opens every stored object.
const Magic = "ATRS"

// FormatV1 is the only at-rest format version so far.
const FormatV1 = 1

// Source says who holds an object's KEK.
type Source uint8

const (
	SourceService  Source = 1 // service-managed, sealed by the root key
	SourceVault    Source = 2 // customer-managed key in a Key Vault
	SourceCustomer Source = 3 // customer-provided per request
	SourceHSM      Source = 4 // held on a PKCS#11 token
	SourceInfra    Source = 5 // the infrastructure layer's own platform key
)

func (s Source) String() string {
	switch s {
	case SourceService:
		return "service-managed"
	case SourceVault:
		return "customer-managed"
	case SourceCustomer:
		return "customer-provided"
	case SourceHSM:
		return "hsm"
	case SourceInfra:
		return "infrastructure"
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// WrapA256GCM wraps a DEK with AES-256-GCM under the KEK: 12-byte random
// nonce, 32-byte ciphertext, 16-byte tag.
const WrapA256GCM = 1

const (
	maxRef       = 1024
	maxVersion   = 255
	maxWrapped   = 1024
	maxHeaderLen = 4 + 4 + 2 + maxRef + 1 + maxVersion + 2 + maxWrapped
	minSegLog    = 10
	maxSegLog    = 24
)

// DefaultSegmentLog is log2 of the default segment size, 64 KiB.
const DefaultSegmentLog = 16

// Header opens every stored object: format version, segment size and the
// reference to the KEK that wraps the object's DEK.
type Header struct {
	SegmentLog uint8  // segment size is 1<<SegmentLog bytes of plaintext
	Source     Source // who holds the KEK
	Wrap       uint8  // DEK wrap algorithm
	KeyRef     string // names the KEK within its source
	KeyVersion string // the KEK version that wrapped the DEK
	WrappedDEK []byte
}

// SegmentSize is the plaintext bytes per segment.
func (h *Header) SegmentSize() int { return 1 << h.SegmentLog }

// Marshal encodes the header.
func (h *Header) Marshal() ([]byte, error) {
	if len(h.KeyRef) > maxRef || len(h.KeyVersion) > maxVersion || len(h.WrappedDEK) > maxWrapped {
		return nil, errors.New("sse: header field too long")
	}
	if h.SegmentLog < minSegLog || h.SegmentLog > maxSegLog {
		return nil, errors.New("sse: bad segment size")
	}
	b := make([]byte, 0, 16+len(h.KeyRef)+len(h.KeyVersion)+len(h.WrappedDEK))
	b = append(b, Magic...)
	b = append(b, FormatV1, h.SegmentLog, byte(h.Source), h.Wrap)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.KeyRef)))
	b = append(b, h.KeyRef...)
	b = append(b, byte(len(h.KeyVersion)))
	b = append(b, h.KeyVersion...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.WrappedDEK)))
	b = append(b, h.WrappedDEK...)
	return b, nil
}

// errHeader is wrapped into ErrAuth by callers; kept distinct for logs.
var errHeader = errors.New("sse: malformed header")

// ParseHeader decodes a header from the start of b and returns its length.
func ParseHeader(b []byte) (*Header, int, error) {
	if len(b) < 10 || string(b[:4]) != Magic {
		return nil, 0, fmt.Errorf("%w: bad magic", errHeader)
	}
	if b[4] != FormatV1 {
		return nil, 0, fmt.Errorf("%w: unknown format version %d", errHeader, b[4])
	}
	h := &Header{SegmentLog: b[5], Source: Source(b[6]), Wrap: b[7]}
	if h.SegmentLog < minSegLog || h.SegmentLog > maxSegLog {
		return nil, 0, fmt.Errorf("%w: bad segment size", errHeader)
	}
	p := 8
	n := int(binary.BigEndian.Uint16(b[p:]))
	p += 2
	if n > maxRef || len(b) < p+n+1 {
		return nil, 0, fmt.Errorf("%w: key reference", errHeader)
	}
	h.KeyRef = string(b[p : p+n])
	p += n
	n = int(b[p])
	p++
	if len(b) < p+n+2 {
		return nil, 0, fmt.Errorf("%w: key version", errHeader)
	}
	h.KeyVersion = string(b[p : p+n])
	p += n
	n = int(binary.BigEndian.Uint16(b[p:]))
	p += 2
	if n > maxWrapped || len(b) < p+n {
		return nil, 0, fmt.Errorf("%w: wrapped key", errHeader)
	}
	h.WrappedDEK = append([]byte(nil), b[p:p+n]...)
	p += n
	return h, p, nil
}

// wrapAAD binds a wrapped DEK to the KEK reference that wrapped it.
func (h *Header) wrapAAD() []byte {
	b := []byte("atrest/dek/v1")
	b = append(b, 0, byte(h.Source), h.Wrap)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.KeyRef)))
	b = append(b, h.KeyRef...)
	b = append(b, byte(len(h.KeyVersion)))
	return append(b, h.KeyVersion...)
}
