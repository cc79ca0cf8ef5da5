// Package mgmt is atrest's management API, shaped like Azure Resource
// Manager: storage accounts (Microsoft.Storage/storageAccounts, with
// encryption and identity), their encryption scopes, user-assigned
// identities (Microsoft.ManagedIdentity/userAssignedIdentities), key vaults
// (Microsoft.KeyVault/vaults) and role assignments
// (Microsoft.Authorization/roleAssignments), under one subscription whose
// id is the installation's tenant id.
//
// It is served on the token issuer's HTTPS listener, where callers bring a
// bearer token from the built-in issuer with the audience
// https://{host}:{port}/ (or https://management.azure.com/), and on the
// admin socket, where the caller is the operator. Most callers need one
// call:
//
//	api := mgmt.New(mgmt.Deps{...})
//	mux.Handle("/subscriptions/", api.Handler(false)) // bearer tokens
//
// Routes are data (routes.go); each names the access it needs: read,
// write or owner (role assignments), granted by the Reader, Contributor
// and Owner roles assigned through this same API.
package mgmt

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/account"
	"github.com/atrest/atrest/internal/identity"
	"github.com/atrest/atrest/internal/keyvault"
	"github.com/atrest/atrest/internal/rbac"
	"github.com/atrest/atrest/internal/sse"
)

// Endpoints are the storage services' base URLs.
type Endpoints struct {
	Blob, Queue, Table, Vault string
}

// Deps are what the API acts on.
type Deps struct {
	DB       *sse.DB
	Keys     *sse.Keyring
	Accounts *account.Registry
	KV       *keyvault.Service
	RBAC     *rbac.Store
	Identity *identity.Service
	// Endpoints reports the running endpoints (for primaryEndpoints).
	Endpoints func() Endpoints
	// KeyChanged is told when an account's or scope's KEK changed, so
	// that existing data keys get re-wrapped.
	KeyChanged func(acct string)
	// CurrentKeyVersion reports the key version wrapping an owner's
	// customer-managed intermediate key.
	CurrentKeyVersion func(owner string) string
	// Refresh re-checks the newest version of an account's versionless
	// customer-managed key now.
	Refresh func(acct string) error
	Log     *slog.Logger
}

// API serves the management routes.
type API struct {
	d     Deps
	roles *roleStore
}

// New makes the API, loading its role assignments.
func New(d Deps) (*API, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	rs, err := openRoles(d.DB, d.Keys)
	if err != nil {
		return nil, err
	}
	return &API{d: d, roles: rs}, nil
}

// Subscription is the one subscription: the tenant id.
func (a *API) Subscription() string { return a.d.Identity.Tenant() }

// caller is who asks: the operator (admin socket) or a token's principal.
type caller struct {
	operator bool
	oid      string
}

// request is one call in flight.
type request struct {
	*http.Request
	caller caller
	vars   map[string]string
	body   []byte
}

const maxBody = 1 << 20

// Handler serves the API. operator is true on the admin socket, whose
// callers hold the installation already; otherwise a bearer token is
// required.
func (a *API) Handler(operator bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		w.Header().Set("x-ms-request-id", uuid.NewString())
		w.Header().Set("x-ms-correlation-request-id", uuid.NewString())
		r := &request{Request: hr}
		if operator {
			r.caller = caller{operator: true, oid: "operator"}
		} else {
			c, err := a.authenticate(hr)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://`+hr.Host+`/`+a.Subscription()+`", error="invalid_token"`)
				writeError(w, err)
				return
			}
			r.caller = c
		}
		rt, vars, err := match(hr.Method, hr.URL.Path)
		if err != nil {
			writeError(w, err)
			return
		}
		r.vars = vars
		if sub, ok := vars["sub"]; ok && !strings.EqualFold(sub, a.Subscription()) {
			writeError(w, errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", sub))
			return
		}
		if err := a.authorize(r, rt); err != nil {
			writeError(w, err)
			return
		}
		if hr.Body != nil {
			b, err := io.ReadAll(io.LimitReader(hr.Body, maxBody+1))
			if err != nil || len(b) > maxBody {
				writeError(w, errorf(http.StatusBadRequest, "InvalidRequestContent", "The request body could not be read or is larger than 1 MiB."))
				return
			}
			r.body = b
		}
		status, out, err := rt.handle(a, r)
		if err != nil {
			a.logErr(r, err)
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		if out != nil {
			json.NewEncoder(w).Encode(out)
		}
	})
}

// authenticate verifies a bearer token meant for this API.
func (a *API) authenticate(r *http.Request) (caller, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return caller{}, errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
	}
	c, err := a.d.Identity.Verify(raw, func(aud string) bool { return audienceOK(aud, r.Host) })
	if err != nil {
		return caller{}, errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid: %s.", reason(err))
	}
	return caller{oid: c.ObjectID}, nil
}

// audienceOK accepts the URL the client reached (https://host:port/), and
// Azure's own management audiences.
func audienceOK(aud, host string) bool {
	a := strings.TrimSuffix(strings.ToLower(aud), "/")
	switch a {
	case "https://management.azure.com", "https://management.core.windows.net":
		return true
	}
	return a == "https://"+strings.ToLower(host)
}

func reason(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": "); i >= 0 && errors.Is(err, identity.ErrInvalidToken) {
		return s[i+2:]
	}
	return "invalid token"
}

func (a *API) logErr(r *request, err error) {
	var e *apiError
	if errors.As(err, &e) && e.Status < 500 {
		return
	}
	a.d.Log.Error("management API error", "method", r.Method, "path", r.URL.Path, "err", err)
}
