package keyvault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/audit"
	"github.com/atrest/atrest/internal/rbac"
)

// Caller is who asks for an operation.
type Caller struct {
	ObjectID string
	AppID    string
	Name     string
	admin    bool
}

// Admin is the installation operator (the local CLI). It passes every
// access check; its operations are audited as caller "admin".
func Admin() Caller { return Caller{ObjectID: "admin", Name: "admin", admin: true} }

// scopeLevel says at which scope a route is authorized.
type scopeLevel int

const (
	atVault scopeLevel = iota
	atKey
)

// op is one operation in flight: who, what, where, and what to audit.
type op struct {
	ctx       context.Context
	route     *route
	caller    Caller
	requestID string
	client    string
	vault     Vault
	base      string   // https://host[:port], for ids and links
	host      hostInfo // the HTTPS request's host, for the challenge
	key       string   // as given in the request
	version   string   // resolved version, for the audit
	alg       string
	query     url.Values
}

// authorize is the access decision for every entry point: the route's data
// action at the vault or key scope, checked against the caller's role
// assignments.
func (s *Service) authorize(o *op) *Error {
	if o.caller.admin {
		return nil
	}
	scope := rbac.VaultScope(o.vault.Name)
	if o.route.scope == atKey {
		scope = rbac.KeyScope(o.vault.Name, o.key)
	}
	d := s.rbac.Check(o.caller.ObjectID, o.route.action, scope)
	if d.Allowed {
		return nil
	}
	return &Error{Status: http.StatusForbidden, Code: "Forbidden", Inner: "ForbiddenByRbac", Message: fmt.Sprintf(
		"Caller is not authorized to perform action on resource.\r\nIf role assignments were recently changed, please wait several minutes for role assignments to become effective.\r\nCaller: appid=%s;oid=%s\r\nAction: '%s'\r\nResource: '%s'\r\nAssignment: (not found)\r\nVault: %s\r\n",
		o.caller.AppID, o.caller.ObjectID, o.route.action, scope, o.vault.Name)}
}

// record writes the operation's audit event.
func (s *Service) record(o *op, status int, e *Error) {
	ev := audit.Event{
		RequestID: o.requestID, Caller: o.caller.ObjectID, AppID: o.caller.AppID, Vault: o.vault.Name,
		Key: o.key, Version: o.version, Algorithm: o.alg, Status: status, Client: o.client,
	}
	if o.route != nil {
		ev.Operation = o.route.name
	}
	switch {
	case e == nil:
		ev.Result = audit.Allowed
	case e.Status == http.StatusUnauthorized:
		ev.Result = audit.Unauthenticated
	case e.Inner == "ForbiddenByRbac":
		ev.Result = audit.Denied
	default:
		ev.Result = audit.Failed
	}
	if e != nil {
		ev.Code = e.Code
	}
	if err := s.audit.Record(ev); err != nil {
		s.log.Error("audit record failed", "request", o.requestID, "err", err)
	}
}

// run authorizes and runs o's route with body, then audits. It is the
// common path of the HTTPS API, the admin API and in-process calls.
func (s *Service) run(o *op, body []byte) (any, *Error) {
	if o.requestID == "" {
		o.requestID = uuid.NewString()
	}
	e := s.authorize(o)
	var out any
	if e == nil {
		var err error
		out, err = o.route.handle(s, o, body)
		e = s.asError(o, err)
	}
	status := http.StatusOK
	if e != nil {
		status = e.Status
	} else if _, ok := out.(noContent); ok {
		status = http.StatusNoContent
	}
	s.record(o, status, e)
	return out, e
}

// asError turns any handler error into a Key Vault error; unexpected ones
// are logged with the request id and answered as InternalError.
func (s *Service) asError(o *op, err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	s.log.Error("key vault internal error", "request", o.requestID, "op", o.route.name, "err", err)
	return errInternal
}

// noContent answers 204 with no body.
type noContent struct{}

// Do runs a REST operation by name ("CreateKey", "WrapKey", ...) for a
// caller, with the JSON body the REST API takes. The CLI uses it with
// Admin(); the result is the REST response body.
func (s *Service) Do(ctx context.Context, caller Caller, operation, vault, key, version string, body []byte, query url.Values) (any, error) {
	var rt *route
	for i := range routes {
		if strings.EqualFold(routes[i].name, operation) {
			rt = &routes[i]
			break
		}
	}
	if rt == nil {
		return nil, fmt.Errorf("no operation %q", operation)
	}
	v, ok := s.Vault(vault)
	if !ok {
		return nil, fmt.Errorf("no vault %q", vault)
	}
	if rt.scope == atKey && !validKeyName(key) {
		return nil, badParameter("Key name %q is not valid: use 1-127 letters, digits and hyphens.", key)
	}
	o := &op{ctx: ctx, route: rt, caller: caller, requestID: requestID(ctx), client: "admin", vault: v,
		base: s.VaultURL(v.Name), key: key, version: version, query: query}
	if !caller.admin {
		o.client = "service"
	}
	out, e := s.run(o, body)
	if e != nil {
		return nil, e
	}
	return out, nil
}

type requestIDKey struct{}

// WithRequestID tags in-process calls so their audit events can be tied to
// the request that caused them.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestID(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok && id != "" {
		return id
	}
	return uuid.NewString()
}
