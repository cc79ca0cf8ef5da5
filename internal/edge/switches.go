package edge

import (
	"crypto/tls"
	"net/http"
)

// Switches are an account's rules on how it may be reached, as Azure's
// account properties allowSharedKeyAccess, allowBlobPublicAccess,
// supportsHttpsTrafficOnly and minimumTlsVersion set them. The zero value
// allows everything.
type Switches struct {
	NoSharedKey    bool   // refuse SharedKey, SharedKeyLite, account and service SAS
	NoPublicAccess bool   // refuse anonymous requests and public container ACLs
	HTTPSOnly      bool   // secure transfer required
	MinTLS         uint16 // tls.VersionTLS10..12; 0 means no minimum
}

// Errors of the switches, with Azure's codes.
var (
	ErrKeyAuthNotPermitted = &Error{Status: http.StatusForbidden, Code: "KeyBasedAuthenticationNotPermitted",
		Message: "Key based authentication is not permitted on this storage account."}
	ErrPublicAccessNotPermitted = &Error{Status: http.StatusConflict, Code: "PublicAccessNotPermitted",
		Message: "Public access is not permitted on this storage account."}
	errAccountRequiresHTTPS = &Error{Status: http.StatusBadRequest, Code: "AccountRequiresHttps",
		Message: "The account being accessed does not support http."}
	errTLSVersion = &Error{Status: http.StatusBadRequest, Code: "TlsVersionNotPermitted",
		Message: "The TLS version of the connection is not permitted on this storage account."}
)

// checkTransport applies the transport switches before any credential is
// looked at, as Azure does.
func checkTransport(r *Request) error {
	sw := r.Account.Switches
	if r.TLS == nil {
		if sw.HTTPSOnly {
			return errAccountRequiresHTTPS
		}
		return nil
	}
	if sw.MinTLS != 0 && r.TLS.Version < sw.MinTLS {
		return errTLSVersion
	}
	return nil
}

// TLSVersions maps Azure's minimumTlsVersion names to crypto/tls versions.
var TLSVersions = map[string]uint16{"TLS1_0": tls.VersionTLS10, "TLS1_1": tls.VersionTLS11, "TLS1_2": tls.VersionTLS12}
