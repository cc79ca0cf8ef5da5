package identity

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// route is one endpoint of the issuer. Patterns are path segments; "{t}"
// matches the tenant segment (the tenant id, or "adfs").
type route struct {
	name    string
	method  string
	pattern []string
	handle  func(s *Service, w http.ResponseWriter, r *http.Request, tenant string)
}

var routes = []route{
	{"OpenIDConfigurationV2", http.MethodGet, []string{"{t}", "v2.0", ".well-known", "openid-configuration"}, (*Service).discovery},
	{"OpenIDConfiguration", http.MethodGet, []string{"{t}", ".well-known", "openid-configuration"}, (*Service).discovery},
	{"JWKSV2", http.MethodGet, []string{"{t}", "discovery", "v2.0", "keys"}, (*Service).serveJWKS},
	{"JWKS", http.MethodGet, []string{"{t}", "discovery", "keys"}, (*Service).serveJWKS},
	{"TokenV2", http.MethodPost, []string{"{t}", "oauth2", "v2.0", "token"}, (*Service).token},
	{"Token", http.MethodPost, []string{"{t}", "oauth2", "token"}, (*Service).token},
	{"ManagedIdentityToken", http.MethodGet, []string{"msi", "token"}, (*Service).managedIdentity},
}

const maxFormBody = 64 << 10

// Handler serves the issuer's HTTPS endpoints.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		h.Set("x-ms-request-id", uuid.NewString())
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		for i := range routes {
			rt := &routes[i]
			tenant, ok := match(rt.pattern, parts)
			if !ok {
				continue
			}
			if r.Method != rt.method {
				oauthError(w, http.StatusMethodNotAllowed, "invalid_request", 0, "use "+rt.method)
				return
			}
			if !s.hostAllowed(r.Host) {
				oauthError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("host %q is not a name of this issuer", r.Host))
				return
			}
			if tenant != "" && !strings.EqualFold(tenant, "adfs") && !strings.EqualFold(tenant, s.tenant) {
				oauthError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", tenant))
				return
			}
			rt.handle(s, w, r, tenant)
			return
		}
		oauthError(w, http.StatusNotFound, "invalid_request", 0, "no such endpoint")
	})
}

func match(pattern, parts []string) (string, bool) {
	if len(pattern) != len(parts) {
		return "", false
	}
	var tenant string
	for i, p := range pattern {
		if p == "{t}" {
			if !validTenant(parts[i]) {
				return "", false
			}
			tenant = parts[i]
			continue
		}
		if !strings.EqualFold(p, parts[i]) {
			return "", false
		}
	}
	return tenant, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// oauthError answers in the shape MSAL reads: error, error_description and
// error_codes.
func oauthError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	body := map[string]any{"error": code, "error_description": desc,
		"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"), "trace_id": uuid.NewString(), "correlation_id": uuid.NewString()}
	if aadsts != 0 {
		body["error_codes"] = []int{aadsts}
	}
	writeJSON(w, status, body)
}

func (s *Service) discovery(w http.ResponseWriter, r *http.Request, tenant string) {
	base := "https://" + r.Host + "/" + tenant
	tokenPath, authPath, keysPath := "/oauth2/v2.0/token", "/oauth2/v2.0/authorize", "/discovery/v2.0/keys"
	if strings.EqualFold(tenant, "adfs") {
		tokenPath, authPath, keysPath = "/oauth2/token", "/oauth2/authorize", "/discovery/keys"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.issuerURL(r.Host, tenant),
		"authorization_endpoint":                base + authPath,
		"token_endpoint":                        base + tokenPath,
		"jwks_uri":                              base + keysPath,
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"grant_types_supported":                 []string{"client_credentials"},
		"scopes_supported":                      []string{"openid"},
		"tenant_region_scope":                   "NA",
	})
}

func (s *Service) serveJWKS(w http.ResponseWriter, r *http.Request, _ string) {
	writeJSON(w, http.StatusOK, map[string]any{"keys": s.sign.jwks()})
}

// audienceFromScope turns "https://vault.azure.net/.default openid profile"
// into "https://vault.azure.net": the one scope ending in /.default, minus
// that suffix. OpenID scopes ride along and are ignored.
func audienceFromScope(scope string) string {
	for _, sc := range strings.Fields(scope) {
		if strings.HasSuffix(sc, "/.default") {
			return strings.TrimSuffix(sc, "/.default")
		}
	}
	return ""
}

func validAudience(a string) bool {
	return a != "" && len(a) <= 512 && !strings.ContainsAny(a, " \t\r\n\"")
}

// token is the client-credentials grant.
func (s *Service) token(w http.ResponseWriter, r *http.Request, tenant string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "the request body must be a form of at most 64 KiB")
		return
	}
	f := r.PostForm
	if gt := f.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("AADSTS70003: grant type %q is not supported; use client_credentials", gt))
		return
	}
	clientID, sec := f.Get("client_id"), f.Get("client_secret")
	if user, pass, ok := basicAuth(r); ok {
		clientID, sec = user, pass
	}
	if f.Get("client_assertion") != "" {
		oauthError(w, http.StatusBadRequest, "invalid_client", 700027, "client assertions (certificates) are not supported; use a client secret")
		return
	}
	if clientID == "" || sec == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", 900144, "client_id and client_secret are required")
		return
	}
	aud := audienceFromScope(f.Get("scope"))
	if aud == "" {
		aud = f.Get("resource") // v1 endpoint
	}
	if !validAudience(aud) {
		oauthError(w, http.StatusBadRequest, "invalid_scope", 70011, "AADSTS70011: the scope must name a resource ending in /.default")
		return
	}
	p, ok := s.checkClientSecret(clientID, sec)
	if p == nil {
		s.log.Info("token refused: unknown client", "client", safe(clientID))
		oauthError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", safe(clientID)))
		return
	}
	if !ok {
		s.log.Info("token refused: wrong secret", "principal", p.Name)
		oauthError(w, http.StatusUnauthorized, "invalid_client", 7000215, "AADSTS7000215: Invalid client secret provided.")
		return
	}
	t, err := s.issue(p, aud, s.issuerURL(r.Host, tenant))
	if err != nil {
		s.log.Error("token signing failed", "err", err)
		oauthError(w, http.StatusInternalServerError, "temporarily_unavailable", 0, "the token could not be signed")
		return
	}
	s.log.Debug("token issued", "principal", p.Name, "audience", aud)
	secs := int(time.Until(t.Expires).Seconds())
	body := map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": t.Value}
	if f.Has("resource") {
		body["resource"] = aud
		body["expires_on"] = strconv.FormatInt(t.Expires.Unix(), 10)
	}
	writeJSON(w, http.StatusOK, body)
}

func basicAuth(r *http.Request) (string, string, bool) {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Basic ") {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
	if err != nil {
		return "", "", false
	}
	u, p, ok := strings.Cut(string(b), ":")
	return u, p, ok
}

// safe trims caller-supplied text before it reaches logs and messages.
func safe(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// managedIdentity serves the App Service managed-identity protocol:
// GET ?api-version=2019-08-01&resource=R with X-IDENTITY-HEADER (or the
// 2017-09-01 form with a "secret" header).
func (s *Service) managedIdentity(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	var sec string
	switch q.Get("api-version") {
	case "2019-08-01":
		sec = r.Header.Get("X-IDENTITY-HEADER")
	case "2017-09-01":
		sec = r.Header.Get("secret")
	default:
		oauthError(w, http.StatusBadRequest, "invalid_request", 0, "api-version must be 2019-08-01 or 2017-09-01")
		return
	}
	resource := strings.TrimSuffix(q.Get("resource"), "/.default")
	if !validAudience(resource) {
		oauthError(w, http.StatusBadRequest, "invalid_request", 0, "resource is required")
		return
	}
	p, ok := s.checkManagedIdentity(sec)
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_client", 0, "the identity header does not name a managed identity")
		return
	}
	// A user-assigned selector must agree with the identity the header names.
	for _, sel := range []string{q.Get("client_id"), q.Get("object_id"), q.Get("principal_id")} {
		if sel != "" && !strings.EqualFold(sel, p.ClientID) && !strings.EqualFold(sel, p.ObjectID) {
			oauthError(w, http.StatusBadRequest, "invalid_request", 0, "the requested identity is not the one the header names")
			return
		}
	}
	t, err := s.issue(p, resource, s.issuerURL(r.Host, s.tenant))
	if err != nil {
		s.log.Error("token signing failed", "err", err)
		oauthError(w, http.StatusInternalServerError, "temporarily_unavailable", 0, "the token could not be signed")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": t.Value, "expires_on": strconv.FormatInt(t.Expires.Unix(), 10), "resource": resource,
		"token_type": "Bearer", "client_id": p.ClientID,
	})
}
