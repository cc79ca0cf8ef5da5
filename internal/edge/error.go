package edge

import (
	"encoding/xml"
	"fmt"
	"net/http"
)

// Error is an Azure error: HTTP status, x-ms-error-code and message.
type Error struct {
	Status  int
	Code    string
	Message string
	// Header holds extra response headers for this error (e.g. none yet).
	Header map[string]string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Errorf builds an Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// With returns a copy of e with another message.
func (e *Error) With(format string, args ...any) *Error {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// Codes shared by all storage services.
var (
	ErrInternal              = &Error{http.StatusInternalServerError, "InternalError", "The server encountered an internal error. Please retry the request.", nil}
	ErrAuthenticationFailed  = &Error{http.StatusForbidden, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.", nil}
	ErrAuthorizationFailure  = &Error{http.StatusForbidden, "AuthorizationFailure", "This request is not authorized to perform this operation.", nil}
	ErrNoAuthenticationInfo  = &Error{http.StatusUnauthorized, "NoAuthenticationInformation", "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.", nil}
	ErrInvalidHeaderValue    = &Error{http.StatusBadRequest, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.", nil}
	ErrInvalidQueryParameter = &Error{http.StatusBadRequest, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.", nil}
	ErrMissingHeader         = &Error{http.StatusBadRequest, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.", nil}
	ErrInvalidInput          = &Error{http.StatusBadRequest, "InvalidInput", "One of the request inputs is not valid.", nil}
	ErrInvalidXML            = &Error{http.StatusBadRequest, "InvalidXmlDocument", "XML specified is not syntactically valid.", nil}
	ErrBodyTooLarge          = &Error{http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.", nil}
	ErrMd5Mismatch           = &Error{http.StatusBadRequest, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.", nil}
	ErrCrc64Mismatch         = &Error{http.StatusBadRequest, "Crc64Mismatch", "The CRC64 value specified in the request did not match with the CRC64 value calculated by the server.", nil}
	ErrUnsupportedVerb       = &Error{http.StatusMethodNotAllowed, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.", nil}
	ErrInvalidURI            = &Error{http.StatusBadRequest, "InvalidUri", "The requested URI does not represent any resource on the server.", nil}
	ErrResourceNotFound      = &Error{http.StatusNotFound, "ResourceNotFound", "The specified resource does not exist.", nil}
	ErrConditionNotMet       = &Error{http.StatusPreconditionFailed, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.", nil}
	ErrNotModified           = &Error{http.StatusNotModified, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.", nil}
	ErrOutOfRangeInput       = &Error{http.StatusBadRequest, "OutOfRangeInput", "One of the request inputs is out of range.", nil}
	ErrMissingContentLength  = &Error{http.StatusLengthRequired, "MissingContentLengthHeader", "The Content-Length header was not specified.", nil}
	ErrServerBusy            = &Error{http.StatusServiceUnavailable, "ServerBusy", "The server is currently unable to receive requests. Please retry your request.", nil}
	ErrInsufficientStorage   = &Error{http.StatusInsufficientStorage, "InsufficientAccountResources", "The storage has no space left for this request.", nil}
)

type xmlError struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
}

// ErrorWriter renders an Error body in a service's format.
type ErrorWriter func(w http.ResponseWriter, e *Error, requestID string)

// XMLErrors renders the Blob and Queue error body.
func XMLErrors(w http.ResponseWriter, e *Error, requestID string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	msg := e.Message + "\nRequestId:" + requestID + "\nTime:" + nowRFC3339()
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(xmlError{Code: e.Code, Message: msg})
}
