// Package edge is the protocol edge every Azure-style service shares: routes
// declared as data, SharedKey authentication, request ids and versions, and
// the one error type that becomes an Azure-shaped error response.
//
// A service declares its operations as Route rows and hands them to
// NewHandler; handlers return *Error values (or any error, which becomes
// InternalError with the request id logged and nothing leaked).
package edge
