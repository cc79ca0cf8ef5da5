package edge

import "net/http"

// KeyUnavailable is the 403 for data whose key-encryption key cannot be
// used now (disabled, deleted or purged, or out of the account identity's
// reach), under the code the key layer reports (sse.UnavailableCode).
func KeyUnavailable(code string) *Error {
	e := &Error{Status: http.StatusForbidden, Code: code}
	switch code {
	case "KeyVaultAccessTokenCannotBeAcquired":
		e.Message = "The storage account's identity cannot acquire a token for the key vault."
	case "KeyVaultVaultNotFound":
		e.Message = "The key vault of the storage account's encryption key was not found."
	default:
		e.Message = "The key vault key is not found to unwrap the encryption key."
	}
	return e
}
