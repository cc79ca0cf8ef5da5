package keyvault

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// ServeHTTP is the keys REST API. Order matters to the official clients:
// their first request to a vault carries no token and no body, so the
// caller is authenticated before anything else is looked at.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o := &op{ctx: r.Context(), requestID: uuid.NewString(), client: r.RemoteAddr, query: r.URL.Query()}
	h := w.Header()
	h.Set("x-ms-request-id", o.requestID)
	h.Set("x-ms-keyvault-service-version", "atrest")
	h.Set("Cache-Control", "no-cache")
	if cid := r.Header.Get("x-ms-client-request-id"); cid != "" && len(cid) <= 256 {
		h.Set("x-ms-client-request-id", cid)
	}
	out, e := s.serve(o, r)
	if e != nil {
		if e.Status == http.StatusUnauthorized {
			h.Set("WWW-Authenticate", s.challenge(o.host))
		}
		writeError(w, e)
		return
	}
	if _, ok := out.(noContent); ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(out)
}

func (s *Service) serve(o *op, r *http.Request) (any, *Error) {
	host, e := s.resolveHost(r.Host)
	if e != nil {
		return nil, e
	}
	o.base = "https://" + r.Host
	o.host = host
	o.vault = Vault{Name: host.vault}
	rt, name, version, found := matchRoute(r.Method, r.URL.EscapedPath())
	o.route, o.key, o.version = rt, name, version

	caller, e := s.authenticate(r)
	if e != nil {
		s.record(o, e.Status, e)
		return nil, e
	}
	o.caller = caller
	fail := func(e *Error) (any, *Error) {
		s.record(o, e.Status, e)
		return nil, e
	}
	if e := checkAPIVersion(o.query.Get("api-version")); e != nil {
		return fail(e)
	}
	v, ok := s.Vault(host.vault)
	if !ok {
		return fail(errorf(http.StatusNotFound, "VaultNotFound", "Vault %q does not exist on this server.", host.vault))
	}
	o.vault = v
	if rt == nil {
		if found {
			return fail(errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested resource does not support http method '%s'.", r.Method))
		}
		return fail(errorf(http.StatusNotFound, "NotFound", "The requested URI does not represent any resource on the server."))
	}
	var body []byte
	if rt.limit > 0 && r.Body != nil {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, rt.limit))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(errorf(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body exceeds %d bytes.", rt.limit))
		}
		if err != nil {
			return fail(badParameter("The request body could not be read."))
		}
	}
	return s.run(o, body)
}

var apiVersionRE = regexp.MustCompile(`^(7\.\d{1,2}(-preview(\.\d+)?)?|20\d\d-\d\d-\d\d(-preview)?)$`)

// checkAPIVersion accepts every version the SDKs send (7.0 through 7.6,
// their previews, and dated versions such as 2025-07-01).
func checkAPIVersion(v string) *Error {
	if v == "" {
		return badParameter("The api-version query parameter is required.")
	}
	if !apiVersionRE.MatchString(v) {
		return badParameter("The specified version (%s) is not recognized. Consider using the latest supported version (7.6 or 2025-07-01).", safeText(v))
	}
	return nil
}

// hostInfo is what the Host header says: which vault, under which base
// name and port.
type hostInfo struct {
	vault string
	base  string // the host name without the vault label
	port  string
}

// resource is the audience tokens for this host carry, as named in the
// challenge: https://{base}[:port].
func (h hostInfo) resource() string {
	if h.port == "" {
		return "https://" + hostLiteral(h.base)
	}
	return "https://" + net.JoinHostPort(h.base, h.port)
}

func hostLiteral(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// resolveHost maps {vault}.{base} to a vault and a bare base to the
// default vault.
func (s *Service) resolveHost(hostport string) (hostInfo, *Error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.Trim(hostport, "[]"), ""
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, b := range s.opts.Hosts {
		if host == b {
			if s.opts.DefaultVault == "-" {
				return hostInfo{}, badParameter("This server has no default vault; address a vault as https://{vault}.%s.", b)
			}
			return hostInfo{vault: s.opts.DefaultVault, base: b, port: port}, nil
		}
		if label, ok := strings.CutSuffix(host, "."+b); ok && validVaultName(label) {
			return hostInfo{vault: label, base: b, port: port}, nil
		}
	}
	return hostInfo{}, badParameter("Host %q is not served here; address a vault as https://{vault}.localhost:{port}.", safeText(hostport))
}

// authenticate checks the bearer token. Failures are 401 with the
// challenge the SDKs parse: key="value" pairs separated by ", ", the
// authorization URL carrying the tenant.
func (s *Service) authenticate(r *http.Request) (Caller, *Error) {
	challenge := func(msg string) *Error { return errorf(http.StatusUnauthorized, "Unauthorized", "%s", msg) }
	authz := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(authz, " ")
	if authz == "" || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return Caller{}, challenge("AKV10000: Request is missing a Bearer or PoP token.")
	}
	c, err := s.ident.Verify(strings.TrimSpace(tok), s.audienceOK)
	if err != nil {
		return Caller{}, challenge("AKV10022: " + err.Error())
	}
	return Caller{ObjectID: c.ObjectID, AppID: c.AppID, Name: c.Name}, nil
}

// Challenge is the WWW-Authenticate value for a request to host h.
func (s *Service) challenge(h hostInfo) string {
	authority := "https://" + hostLiteral(h.base)
	if p := s.idPort.Load(); p != 0 {
		authority = "https://" + net.JoinHostPort(h.base, itoa(int(p)))
	}
	return `Bearer authorization="` + authority + "/" + s.ident.Tenant() + `", resource="` + h.resource() + `"`
}

// audienceOK accepts tokens for Azure's Key Vault resource and for this
// server's own resource URLs (https://{host}:{vault port}).
func (s *Service) audienceOK(aud string) bool {
	aud = strings.TrimSuffix(strings.ToLower(aud), "/")
	if aud == "https://vault.azure.net" {
		return true
	}
	rest, ok := strings.CutPrefix(aud, "https://")
	if !ok {
		return false
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return false
	}
	if p := s.port.Load(); p != 0 && port != itoa(int(p)) {
		return false
	}
	for _, b := range s.opts.Hosts {
		if host == b {
			return true
		}
	}
	return false
}

// VaultURL is the URL of a vault as in-process callers and the CLI see it.
func (s *Service) VaultURL(vault string) string {
	host := vault + ".localhost"
	if p := s.port.Load(); p != 0 {
		return "https://" + net.JoinHostPort(host, itoa(int(p)))
	}
	return "https://" + host
}

func itoa(n int) string { return strconv.Itoa(n) }

// safeText trims caller-supplied text before it is echoed in a message.
func safeText(s string) string {
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
