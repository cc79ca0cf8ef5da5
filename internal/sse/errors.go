package sse

import "errors"

// ErrAuth is the one error for every failure to authenticate or decrypt
// stored data: tampered, truncated, extended, swapped or wrongly keyed.
var ErrAuth = errors.New("sse: stored data failed authentication")

// ErrKeyUnavailable means the KEK an object names cannot be used now
// (unknown, disabled or revoked); the data itself may be intact.
var ErrKeyUnavailable = errors.New("sse: key-encryption key unavailable")
