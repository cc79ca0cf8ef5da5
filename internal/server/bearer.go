package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/audit"
	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/identity"
	"github.com/atrest/atrest/internal/rbac"
)

// StorageAudience is the one audience storage accepts in bearer tokens (the
// only one the Python SDK can request), with or without a trailing slash.
const StorageAudience = "https://storage.azure.com"

// storageBearer lets storage services accept tokens from the built-in
// issuer and decide with the same role assignments as the Key Vault.
type storageBearer struct {
	s     *Server
	ident *identity.Service
	rbac  *rbac.Store
}

func (b storageBearer) Principal(token string) (string, string, error) {
	c, err := b.ident.Verify(token, func(aud string) bool { return strings.TrimRight(aud, "/") == StorageAudience })
	return c.ObjectID, c.TenantID, err
}

func (b storageBearer) Allowed(principal, action, scope string) bool {
	return b.rbac.Check(principal, action, scope).Allowed
}

// Challenge tells challenge-aware clients where to get a token: space
// separated, no commas, as the Python and Go storage clients parse it.
func (b storageBearer) Challenge() string {
	return "Bearer authorization_uri=" + b.s.IdentityURL + "/" + b.ident.Tenant() + "/oauth2/authorize resource_id=" + StorageAudience
}

// auditStorage records storage access decisions made for tokens and SAS,
// and every refusal, in the audit log's format (never a signature or key).
func auditStorage(log *audit.Log) func(r *edge.Request, err error) {
	return func(r *edge.Request, err error) {
		var e *edge.Error
		refused := errors.As(err, &e) && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden)
		if r.Principal == "" && r.SAS == nil && !refused {
			return
		}
		ev := audit.Event{Time: time.Now().UTC(), RequestID: r.ID, Caller: r.Principal, Client: r.RemoteAddr, Result: audit.Allowed}
		if r.SAS != nil && r.Principal == "" {
			ev.Caller = "sas"
		}
		if r.Route != nil {
			ev.Operation = r.Route.Name
		}
		if r.Account != nil {
			ev.Resource = strings.TrimRight(r.Account.Name+"/"+r.Container+"/"+r.Object, "/")
		}
		switch {
		case err == nil:
		case refused && e.Status == http.StatusUnauthorized:
			ev.Result, ev.Status, ev.Code = audit.Unauthenticated, e.Status, e.Code
		case refused:
			ev.Result, ev.Status, ev.Code = audit.Denied, e.Status, e.Code
		case e != nil:
			ev.Result, ev.Status, ev.Code = audit.Failed, e.Status, e.Code
		default:
			ev.Result = audit.Failed
		}
		log.Record(ev)
	}
}

func (s *Server) bearer() edge.Bearer {
	return storageBearer{s: s, ident: s.vault.ident, rbac: s.vault.rbac}
}
