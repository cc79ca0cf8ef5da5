package cse

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Protocol versions (EncryptionAgent.Protocol) and content algorithms.
const (
	Protocol1_0        = "1.0" // AES-256-CBC, no integrity: read only unless asked
	Protocol2_0        = "2.0" // AES-256-GCM in 4 MiB regions: written by default
	Protocol2_1        = "2.1" // as 2.0 with a writer-chosen region size
	AlgorithmAESCBC256 = "AES_CBC_256"
	AlgorithmAESGCM256 = "AES_GCM_256"

	// EncryptionModeFullBlob is the informational EncryptionMode of blobs.
	EncryptionModeFullBlob = "FullBlob"
	// EncryptionLibrary is written as KeyWrappingMetadata.EncryptionLibrary.
	// It must never contain "Java": table readers switch layouts on that word.
	EncryptionLibrary = "Go atrest-cse 0.1"
	// MetadataKey is the blob metadata name that holds the document.
	MetadataKey = "encryptiondata"

	// DefaultRegionSize is the protocol 2.0 region (plaintext bytes).
	DefaultRegionSize = 4 << 20
	// MinRegionSize and MaxRegionSize bound 2.1 regions (Java's limits).
	MinRegionSize = 16
	MaxRegionSize = 1 << 30

	nonceSize = 12
	tagSize   = 16
	blockSize = 16 // AES block, protocol 1.0 IV and padding unit
)

// EncryptionData is the JSON encryption-data document stored beside the
// ciphertext: blob metadata "encryptiondata", the queue envelope's
// "EncryptionData", a table entity's "_ClientEncryptionMetadata1".
//
// MarshalJSON writes it exactly as the Python SDK does (member order, names
// and layout); ParseEncryptionData reads members by name in any order.
type EncryptionData struct {
	WrappedContentKey   WrappedContentKey
	EncryptionAgent     EncryptionAgent
	ContentEncryptionIV []byte               // protocol 1.0 only
	EncryptedRegionInfo *EncryptedRegionInfo // protocol 2.x only
	KeyWrappingMetadata map[string]string    // nil when the member is absent
	EncryptionMode      string               // "FullBlob" for blobs, "" when absent
}

// WrappedContentKey is the wrapped CEK and the KEK that wrapped it.
type WrappedContentKey struct {
	KeyID        string // "KeyId"
	EncryptedKey []byte
	Algorithm    string
}

// EncryptionAgent names the protocol and the content cipher.
type EncryptionAgent struct {
	Protocol            string
	EncryptionAlgorithm string
}

// EncryptedRegionInfo is the 2.x region layout.
type EncryptedRegionInfo struct {
	DataLength  int64 // plaintext bytes per region
	NonceLength int64
}

// MarshalJSON implements json.Marshaler with the Python SDK's layout. It
// has a value receiver so that documents held by value marshal this way too.
func (ed EncryptionData) MarshalJSON() ([]byte, error) {
	var w, a pyObject
	w.str("KeyId", ed.WrappedContentKey.KeyID)
	w.str("EncryptedKey", base64.StdEncoding.EncodeToString(ed.WrappedContentKey.EncryptedKey))
	w.str("Algorithm", ed.WrappedContentKey.Algorithm)
	a.str("Protocol", ed.EncryptionAgent.Protocol)
	a.str("EncryptionAlgorithm", ed.EncryptionAgent.EncryptionAlgorithm)

	var o pyObject
	o.raw("WrappedContentKey", w.bytes())
	o.raw("EncryptionAgent", a.bytes())
	if ed.ContentEncryptionIV != nil {
		o.str("ContentEncryptionIV", base64.StdEncoding.EncodeToString(ed.ContentEncryptionIV))
	}
	if ri := ed.EncryptedRegionInfo; ri != nil {
		var r pyObject
		r.num("DataLength", ri.DataLength)
		r.num("NonceLength", ri.NonceLength)
		o.raw("EncryptedRegionInfo", r.bytes())
	}
	if ed.KeyWrappingMetadata != nil {
		var m pyObject
		for _, k := range metadataKeys(ed.KeyWrappingMetadata) {
			m.str(k, ed.KeyWrappingMetadata[k])
		}
		o.raw("KeyWrappingMetadata", m.bytes())
	}
	if ed.EncryptionMode != "" {
		o.str("EncryptionMode", ed.EncryptionMode)
	}
	return o.bytes(), nil
}

// metadataKeys orders EncryptionLibrary first, then the rest by name.
func metadataKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if (keys[i] == "EncryptionLibrary") != (keys[j] == "EncryptionLibrary") {
			return keys[i] == "EncryptionLibrary"
		}
		return keys[i] < keys[j]
	})
	return keys
}

// UnmarshalJSON implements json.Unmarshaler via ParseEncryptionData.
func (ed *EncryptionData) UnmarshalJSON(data []byte) error {
	p, err := ParseEncryptionData(data)
	if err != nil {
		return err
	}
	*ed = *p
	return nil
}

// String returns the document as MarshalJSON writes it.
func (ed *EncryptionData) String() string {
	b, _ := ed.MarshalJSON()
	return string(b)
}

// ParseEncryptionData reads a document by member name. Names match exactly,
// or else case-insensitively (as .NET reads); unknown members are ignored.
// It checks the shape only; whether the protocol is supported is checked
// when the data is decrypted.
func ParseEncryptionData(data []byte) (*EncryptionData, error) {
	top, err := jsonObject(data)
	if err != nil {
		return nil, err
	}
	ed := new(EncryptionData)

	wck, err := member(top, "WrappedContentKey", true)
	if err != nil {
		return nil, err
	}
	w, err := jsonObject(wck)
	if err != nil {
		return nil, err
	}
	if ed.WrappedContentKey.KeyID, err = stringMember(w, "KeyId", true); err != nil {
		return nil, err
	}
	if ed.WrappedContentKey.EncryptedKey, err = base64Member(w, "EncryptedKey", true); err != nil {
		return nil, err
	}
	if ed.WrappedContentKey.Algorithm, err = stringMember(w, "Algorithm", true); err != nil {
		return nil, err
	}

	agent, err := member(top, "EncryptionAgent", true)
	if err != nil {
		return nil, err
	}
	a, err := jsonObject(agent)
	if err != nil {
		return nil, err
	}
	if ed.EncryptionAgent.Protocol, err = stringMember(a, "Protocol", true); err != nil {
		return nil, err
	}
	if ed.EncryptionAgent.EncryptionAlgorithm, err = stringMember(a, "EncryptionAlgorithm", true); err != nil {
		return nil, err
	}

	if ed.ContentEncryptionIV, err = base64Member(top, "ContentEncryptionIV", false); err != nil {
		return nil, err
	}
	if raw, err := member(top, "EncryptedRegionInfo", false); err != nil {
		return nil, err
	} else if raw != nil {
		r, err := jsonObject(raw)
		if err != nil {
			return nil, err
		}
		ri := new(EncryptedRegionInfo)
		if ri.DataLength, err = intMember(r, "DataLength"); err != nil {
			return nil, err
		}
		if ri.NonceLength, err = intMember(r, "NonceLength"); err != nil {
			return nil, err
		}
		ed.EncryptedRegionInfo = ri
	}
	if raw, err := member(top, "KeyWrappingMetadata", false); err != nil {
		return nil, err
	} else if raw != nil {
		m, err := jsonObject(raw)
		if err != nil {
			return nil, err
		}
		ed.KeyWrappingMetadata = make(map[string]string, len(m))
		for k, v := range m {
			var s string
			if json.Unmarshal(v, &s) == nil { // informational: skip non-strings
				ed.KeyWrappingMetadata[k] = s
			}
		}
	}
	if ed.EncryptionMode, err = stringMember(top, "EncryptionMode", false); err != nil {
		return nil, err
	}
	return ed, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func jsonObject(data []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return nil, malformed("not a JSON object")
	}
	return m, nil
}

// member finds name exactly, else by a unique case-insensitive match. An
// optional member that is absent or null yields nil; a required one, an error.
func member(m map[string]json.RawMessage, name string, required bool) (json.RawMessage, error) {
	v, ok := m[name]
	if !ok {
		n := 0
		for k, kv := range m {
			if strings.EqualFold(k, name) {
				v, n = kv, n+1
			}
		}
		if n > 1 {
			return nil, malformed("member %q appears more than once", name)
		}
		ok = n == 1
	}
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		if required {
			return nil, malformed("member %q missing", name)
		}
		return nil, nil
	}
	return v, nil
}

func stringMember(m map[string]json.RawMessage, name string, required bool) (string, error) {
	raw, err := member(m, name, required)
	if err != nil || raw == nil {
		return "", err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", malformed("member %q is not a string", name)
	}
	return s, nil
}

func base64Member(m map[string]json.RawMessage, name string, required bool) ([]byte, error) {
	raw, err := member(m, name, required)
	if err != nil || raw == nil {
		return nil, err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, malformed("member %q is not a string", name)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, malformed("member %q is not base64", name)
	}
	return b, nil
}

func intMember(m map[string]json.RawMessage, name string) (int64, error) {
	raw, err := member(m, name, true)
	if err != nil {
		return 0, err
	}
	var n json.Number // lengths are JSON numbers; a quoted number is refused
	if raw = bytes.TrimSpace(raw); len(raw) > 0 && raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return 0, malformed("member %q is not a number", name)
	}
	v, err := n.Int64()
	if err != nil {
		return 0, malformed("member %q is not an integer", name)
	}
	return v, nil
}

// isV2 reports a 2.x protocol.
func (ed *EncryptionData) isV2() bool {
	p := ed.EncryptionAgent.Protocol
	return p == Protocol2_0 || p == Protocol2_1
}

// check rejects documents this package cannot decrypt: unknown protocol or
// algorithm, or parameters missing or out of range for the protocol.
func (ed *EncryptionData) check() error {
	p, alg := ed.EncryptionAgent.Protocol, ed.EncryptionAgent.EncryptionAlgorithm
	switch p {
	case Protocol1_0:
		if alg != AlgorithmAESCBC256 {
			return fmt.Errorf("%w: protocol 1.0 with algorithm %q", ErrUnsupported, alg)
		}
		if len(ed.ContentEncryptionIV) != blockSize {
			return malformed("protocol 1.0 needs a 16-byte ContentEncryptionIV")
		}
	case Protocol2_0, Protocol2_1:
		if alg != AlgorithmAESGCM256 {
			return fmt.Errorf("%w: protocol %s with algorithm %q", ErrUnsupported, p, alg)
		}
		ri := ed.EncryptedRegionInfo
		if ri == nil {
			return malformed("protocol %s needs EncryptedRegionInfo", p)
		}
		if ri.NonceLength != nonceSize {
			return fmt.Errorf("%w: nonce length %d", ErrUnsupported, ri.NonceLength)
		}
		if ri.DataLength < 1 || ri.DataLength > MaxRegionSize {
			return fmt.Errorf("%w: region data length %d", ErrUnsupported, ri.DataLength)
		}
	default:
		return fmt.Errorf("%w: protocol %q", ErrUnsupported, p)
	}
	if len(ed.WrappedContentKey.EncryptedKey) == 0 {
		return malformed("empty EncryptedKey")
	}
	return nil
}

// javaTableLayout reports the legacy Java v1 table layout (spec §9.3).
func (ed *EncryptionData) javaTableLayout() bool {
	if ed.KeyWrappingMetadata == nil {
		return true
	}
	return strings.Contains(ed.KeyWrappingMetadata["EncryptionLibrary"], "Java")
}
