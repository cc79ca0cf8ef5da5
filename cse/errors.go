package cse

import "errors"

// The errors a caller can test for with errors.Is. Every authentication or
// integrity failure is the single value ErrDecrypt, whatever its cause (bad
// tag, bad padding, wrong key, nonce out of sequence, truncated region), so
// that a caller cannot turn error messages into an oracle.
var (
	// ErrDecrypt is the one opaque error for data that does not authenticate.
	ErrDecrypt = errors.New("cse: decryption failed")
	// ErrNotEncrypted is returned in require-encryption mode for data that
	// carries no encryption metadata, envelope or reserved properties.
	ErrNotEncrypted = errors.New("cse: data is not client-side encrypted")
	// ErrUnsupported is returned for metadata naming a protocol, algorithm or
	// region layout this package does not read.
	ErrUnsupported = errors.New("cse: unsupported encryption format")
	// ErrMalformed is returned for encryption metadata that is not a valid document.
	ErrMalformed = errors.New("cse: malformed encryption metadata")
	// ErrKeyNotFound is returned when no key-encryption key matches the KeyId
	// recorded with the data.
	ErrKeyNotFound = errors.New("cse: no key-encryption key for this key id")
	// ErrInvalidRange is returned for a plaintext range that starts beyond the
	// end of the blob or is empty.
	ErrInvalidRange = errors.New("cse: invalid range")
)
