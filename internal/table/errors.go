package table

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// Table service error codes, as the REST reference names them.
var (
	errTableNotFound       = &edge.Error{Status: http.StatusNotFound, Code: "TableNotFound", Message: "The table specified does not exist."}
	errTableExists         = &edge.Error{Status: http.StatusConflict, Code: "TableAlreadyExists", Message: "The table specified already exists."}
	errTableBeingDeleted   = &edge.Error{Status: http.StatusConflict, Code: "TableBeingDeleted", Message: "The specified table is being deleted. Try operation later."}
	errResourceNotFound    = &edge.Error{Status: http.StatusNotFound, Code: "ResourceNotFound", Message: "The specified resource does not exist."}
	errEntityExists        = &edge.Error{Status: http.StatusConflict, Code: "EntityAlreadyExists", Message: "The specified entity already exists."}
	errUpdateCondition     = &edge.Error{Status: http.StatusPreconditionFailed, Code: "UpdateConditionNotSatisfied", Message: "The update condition specified in the request was not satisfied."}
	errInvalidName         = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidResourceName", Message: "The specifed resource name contains invalid characters."}
	errNameLength          = &edge.Error{Status: http.StatusBadRequest, Code: "OutOfRangeInput", Message: "The specified resource name length is not within the permissible limits."}
	errInvalidInput        = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "An error occurred while processing this request."}
	errBadFilter           = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "The query condition specified in the request is invalid."}
	errKeyOutOfRange       = &edge.Error{Status: http.StatusBadRequest, Code: "OutOfRangeInput", Message: "One of the request inputs is out of range."}
	errPropertiesNeedValue = &edge.Error{Status: http.StatusBadRequest, Code: "PropertiesNeedValue", Message: "The values are not specified for all properties in the entity."}
	errEntityTooLarge      = &edge.Error{Status: http.StatusBadRequest, Code: "EntityTooLarge", Message: "The entity is larger than the maximum allowed size (1MB)."}
	errValueTooLarge       = &edge.Error{Status: http.StatusBadRequest, Code: "PropertyValueTooLarge", Message: "The property value exceeds the maximum allowed size (64KB). If the property value is a string, it is UTF-16 encoded and the maximum number of characters should be 32K or less."}
	errTooManyProperties   = &edge.Error{Status: http.StatusBadRequest, Code: "TooManyProperties", Message: "The entity contains more properties than allowed. Each entity can include up to 252 properties to store data. Each entity also has 3 system properties."}
	errPropertyNameInvalid = &edge.Error{Status: http.StatusBadRequest, Code: "PropertyNameInvalid", Message: "The property name is invalid."}
	errPropertyNameLong    = &edge.Error{Status: http.StatusBadRequest, Code: "PropertyNameTooLong", Message: "The property name exceeds the maximum allowed length (255)."}
	errDuplicateProperty   = &edge.Error{Status: http.StatusBadRequest, Code: "DuplicatePropertiesSpecified", Message: "A property is specified more than one time."}
	errInvalidType         = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "The value of a property does not match its declared type."}
	errAtomNotSupported    = &edge.Error{Status: http.StatusUnsupportedMediaType, Code: "AtomFormatNotSupported", Message: "Atom format is not supported."}
	errDuplicateRow        = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidDuplicateRow", Message: "The batch request contains multiple changes with same row key. An entity can appear only once in a batch request."}
	errOtherPartition      = &edge.Error{Status: http.StatusBadRequest, Code: "CommandsInBatchActOnDifferentPartitions", Message: "All commands in a batch must operate on same entity group."}
	errTooManyChanges      = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "The batch request operation exceeds the maximum 100 changes per change set."}
	errDataUnreadable      = &edge.Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: "The stored data could not be authenticated and was not returned."}
)

// mapStoreErr turns storage failures into protocol errors.
func mapStoreErr(err error) error {
	switch {
	case errors.Is(err, sse.ErrKeyUnavailable):
		return edge.KeyUnavailable(sse.UnavailableCode(err))
	case errors.Is(err, sse.ErrAuth):
		return errDataUnreadable
	}
	return err
}

// odataError is the only shape the Python client accepts: odata.error with
// code and message, and nothing else inside.
type odataError struct {
	Error struct {
		Code    string `json:"code"`
		Message struct {
			Lang  string `json:"lang"`
			Value string `json:"value"`
		} `json:"message"`
	} `json:"odata.error"`
}

func errorBody(code, message string) []byte {
	var e odataError
	e.Error.Code = code
	e.Error.Message.Lang = "en-US"
	e.Error.Message.Value = message
	b, _ := json.Marshal(e)
	return b
}

// WriteError renders a Table error body; edge has already set
// x-ms-error-code.
func WriteError(w http.ResponseWriter, e *edge.Error, requestID string) {
	w.Header().Set("Content-Type", "application/json;odata=minimalmetadata;streaming=true;charset=utf-8")
	w.Header().Set("DataServiceVersion", "3.0;")
	w.WriteHeader(e.Status)
	w.Write(errorBody(e.Code, e.Message+"\nRequestId:"+requestID+"\nTime:"+nowString()))
}
