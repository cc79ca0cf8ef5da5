// Package secret holds key material in a type that cannot leak by accident.
//
// A Key never prints, formats or marshals its bytes: fmt, log and
// encoding/json all see "[redacted]". Comparison is constant time. Code that
// truly needs the bytes (a cipher constructor) asks for them with Bytes.
package secret

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

// Key is secret key material.
type Key struct{ b []byte }

// New copies b into a Key.
func New(b []byte) Key { return Key{b: append([]byte(nil), b...)} }

// Random returns a Key of n bytes from the operating system's CSPRNG.
func Random(n int) (Key, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return Key{}, fmt.Errorf("secret: random: %w", err)
	}
	return Key{b: b}, nil
}

// FromBase64 decodes standard base64 into a Key.
func FromBase64(s string) (Key, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return Key{}, fmt.Errorf("secret: key is not valid base64")
	}
	return Key{b: b}, nil
}

// Bytes exposes the key material. Callers must not retain or log it.
func (k Key) Bytes() []byte { return k.b }

// Len is the key length in bytes.
func (k Key) Len() int { return len(k.b) }

// IsZero reports whether the key holds no material.
func (k Key) IsZero() bool { return len(k.b) == 0 }

// Equal compares two keys in constant time.
func (k Key) Equal(o Key) bool { return subtle.ConstantTimeCompare(k.b, o.b) == 1 }

// Wipe zeroes the key material in place.
func (k Key) Wipe() { clear(k.b) }

func (Key) String() string               { return "[redacted]" }
func (Key) GoString() string             { return "secret.Key{[redacted]}" }
func (Key) Format(f fmt.State, _ rune)   { f.Write([]byte("[redacted]")) }
func (Key) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }
func (Key) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }
