package keyvault

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is a Key Vault error: HTTP status, error code and message, rendered
// as {"error":{"code":…,"message":…,"innererror":{"code":…}}}.
type Error struct {
	Status  int
	Code    string
	Message string
	Inner   string // innererror.code, when Key Vault sends one
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func badParameter(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "BadParameter", format, args...)
}

func keyNotFound(name string) *Error {
	return errorf(http.StatusNotFound, "KeyNotFound", "A key with (name/id) %s was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command.", name)
}

func deletedKeyNotFound(name string) *Error {
	return errorf(http.StatusNotFound, "KeyNotFound", "Deleted Key not found: %s", name)
}

func forbidden(format string, args ...any) *Error {
	return errorf(http.StatusForbidden, "Forbidden", format, args...)
}

func conflict(format string, args ...any) *Error {
	return errorf(http.StatusConflict, "Conflict", format, args...)
}

var errInternal = &Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: "The server encountered an internal error. Please retry the request."}

func writeError(w http.ResponseWriter, e *Error) {
	body := map[string]any{"code": e.Code, "message": e.Message}
	if e.Inner != "" {
		body["innererror"] = map[string]string{"code": e.Inner}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(map[string]any{"error": body})
}
