package account

import (
	"github.com/atrest/atrest/internal/edge"
)

// Access holds an account's switches on how it may be reached. Fields are
// stored in the sense whose zero value is Azurite's openness (shared key,
// public access and plain HTTP allowed, TLS 1.2 as before the switches
// existed), so accounts recorded earlier keep working as they did.
type Access struct {
	DenySharedKey    bool   `json:"denySharedKey,omitempty"`
	DenyPublicAccess bool   `json:"denyPublicAccess,omitempty"`
	HTTPSOnly        bool   `json:"httpsOnly,omitempty"`
	MinTLS           string `json:"minimumTlsVersion,omitempty"` // TLS1_0, TLS1_1, TLS1_2
}

// Minimum TLS versions, as ARM spells them.
const (
	TLS10 = "TLS1_0"
	TLS11 = "TLS1_1"
	TLS12 = "TLS1_2"
)

// DefaultAccess is what Azure gives an account created without these
// properties today: shared key allowed, public access disallowed, secure
// transfer required, TLS 1.2.
func DefaultAccess() Access {
	return Access{DenyPublicAccess: true, HTTPSOnly: true, MinTLS: TLS12}
}

// MinTLSVersion is the effective minimum (TLS1_2 when unset).
func (a Access) MinTLSVersion() string {
	if a.MinTLS == "" {
		return TLS12
	}
	return a.MinTLS
}

func (a *Access) check() error {
	if a.MinTLS == "" {
		return nil
	}
	if _, ok := edge.TLSVersions[a.MinTLS]; !ok {
		return invalid("minimumTlsVersion %q: want TLS1_0, TLS1_1 or TLS1_2", a.MinTLS)
	}
	return nil
}

// switches is the data plane's view of the access settings.
func (a Access) switches() edge.Switches {
	return edge.Switches{NoSharedKey: a.DenySharedKey, NoPublicAccess: a.DenyPublicAccess,
		HTTPSOnly: a.HTTPSOnly, MinTLS: edge.TLSVersions[a.MinTLSVersion()]}
}
