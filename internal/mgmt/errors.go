package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/atrest/atrest/internal/account"
)

// apiError is an ARM error: {"error":{"code":…,"message":…}}.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidRequestContent", format, args...)
}

// fromRegistry maps the registry's errors onto ARM's.
func fromRegistry(err error, notFoundCode string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, account.ErrNotFound):
		return errorf(http.StatusNotFound, notFoundCode, "%s", trim(err))
	case errors.Is(err, account.ErrExists):
		return errorf(http.StatusConflict, "StorageAccountAlreadyTaken", "%s", trim(err))
	case errors.Is(err, account.ErrInvalid):
		return errorf(http.StatusBadRequest, "InvalidValuesForRequestParameters", "%s", trim(err))
	case errors.Is(err, account.ErrConflict):
		return errorf(http.StatusConflict, "Conflict", "%s", trim(err))
	}
	return err
}

func trim(err error) string {
	s := err.Error()
	for _, p := range []string{"account: invalid request: ", "account: conflict: ", "account: not found: ", "account: already exists: "} {
		if len(s) > len(p) && s[:len(p)] == p {
			return s[len(p):]
		}
	}
	return s
}

func writeError(w http.ResponseWriter, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = errorf(http.StatusInternalServerError, "InternalServerError", "The server encountered an internal error.")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ms-failure-cause", "service")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message}})
}

// decode reads a JSON body strictly enough to catch typos in known shapes
// while letting ARM's many optional fields through.
func decode(b []byte, v any) error {
	if len(b) == 0 {
		return badRequest("The request body is required.")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("The request body is not valid JSON: %v", err)
	}
	return nil
}
