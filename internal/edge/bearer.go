package edge

import (
	"net/http"
	"strings"
)

// Bearer authenticates OAuth bearer tokens and authorizes the principals
// they speak for. The server supplies it (the built-in token issuer and the
// role assignments); edge only asks.
type Bearer interface {
	// Principal verifies a token meant for storage and returns the caller's
	// object id and tenant, or an error saying why it is not accepted.
	Principal(token string) (oid, tenant string, err error)
	// Allowed decides whether the principal may perform action at scope.
	Allowed(principal, action, scope string) bool
	// Challenge is the WWW-Authenticate value sent with a 401.
	Challenge() string
}

// ActionFunc names the RBAC action and scope a request needs.
type ActionFunc func(r *Request) (action, scope string)

var (
	errBearerNeedsHTTPS = &Error{Status: http.StatusForbidden, Code: "AuthenticationFailed",
		Message: "Bearer tokens are only accepted over HTTPS."}
	errInvalidToken = &Error{Status: http.StatusUnauthorized, Code: "InvalidAuthenticationInfo",
		Message: "Server failed to authenticate the request. Please refer to the information in the www-authenticate header."}
	errNoRole = &Error{Status: http.StatusForbidden, Code: "AuthorizationPermissionMismatch",
		Message: "This request is not authorized to perform this operation using this permission."}
)

// authorizeBearer verifies the token, then asks whether its principal holds
// a role granting the operation at the resource's scope.
func (s *Service) authorizeBearer(r *Request, token string) error {
	if s.Bearer == nil {
		return ErrAuthenticationFailed.With("Bearer tokens are not accepted by this server.")
	}
	if r.TLS == nil {
		return errBearerNeedsHTTPS
	}
	principal, tenant, err := s.Bearer.Principal(strings.TrimSpace(token))
	if err != nil {
		s.Log.Info("bearer token refused", "request", r.ID, "reason", err.Error())
		e := *errInvalidToken
		e.Header = map[string]string{"WWW-Authenticate": s.Bearer.Challenge()}
		return &e
	}
	r.Principal, r.Tenant = principal, tenant
	if s.Action == nil {
		return errNoRole
	}
	action, scope := s.Action(r)
	if action == "" || !s.Bearer.Allowed(principal, action, scope) {
		return errNoRole
	}
	return nil
}
