package cse

import "fmt"

// secret holds key bytes inside a closure. fmt's reflection walks slices,
// arrays, structs and (in its bad-verb fallback) pointers, but prints a func
// only as an address, so not even %s on an unexported field of a containing
// struct reaches the bytes. The redacting methods cover the direct cases.
type secret struct{ get func() []byte }

func newSecret(b []byte) secret {
	c := append([]byte(nil), b...)
	return secret{get: func() []byte { return c }}
}

// bytes exposes the key for a cipher constructor; never log or keep it.
func (s secret) bytes() []byte {
	if s.get == nil {
		return nil
	}
	return s.get()
}

func (s secret) wipe() { clear(s.bytes()) }

const redacted = "[redacted]"

func (secret) String() string               { return redacted }
func (secret) GoString() string             { return "cse.secret{" + redacted + "}" }
func (secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
