package queue

import (
	"errors"
	"net/http"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// Queue service error codes, as the REST reference names them.
var (
	errQueueNotFound      = &edge.Error{Status: http.StatusNotFound, Code: "QueueNotFound", Message: "The specified queue does not exist."}
	errQueueExists        = &edge.Error{Status: http.StatusConflict, Code: "QueueAlreadyExists", Message: "The specified queue already exists."}
	errMessageNotFound    = &edge.Error{Status: http.StatusNotFound, Code: "MessageNotFound", Message: "The specified message does not exist."}
	errPopReceiptMismatch = &edge.Error{Status: http.StatusBadRequest, Code: "PopReceiptMismatch", Message: "The specified pop receipt did not match the pop receipt for a dequeued message."}
	errInvalidName        = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidResourceName", Message: "The specified resource name contains invalid characters."}
	errNameLength         = &edge.Error{Status: http.StatusBadRequest, Code: "OutOfRangeInput", Message: "The specified resource name length is not within the permissible limits."}
	errOutOfRangeQuery    = &edge.Error{Status: http.StatusBadRequest, Code: "OutOfRangeQueryParameterValue", Message: "One of the query parameters specified in the request URI is outside the permissible range."}
	errMissingQuery       = &edge.Error{Status: http.StatusBadRequest, Code: "MissingRequiredQueryParameter", Message: "A query parameter that's mandatory for this request is not specified."}
	errMessageTooLarge    = &edge.Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestBodyTooLarge", Message: "The request body is too large and exceeds the maximum permissible limit."}
	errDataUnreadable     = &edge.Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: "The stored data could not be authenticated and was not returned."}
)

// mapStoreErr turns storage failures into protocol errors.
func mapStoreErr(err error, notFound error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sse.ErrNotFound) && notFound != nil:
		return notFound
	case errors.Is(err, sse.ErrKeyUnavailable):
		return edge.KeyUnavailable(sse.UnavailableCode(err))
	case errors.Is(err, sse.ErrAuth):
		return errDataUnreadable
	}
	return err
}
