package edge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Level is how deep a path reaches: the account, a container (or queue or
// table), or an object within it.
type Level int

const (
	LevelService Level = iota
	LevelContainer
	LevelObject
)

// Auth says who may call an operation.
type Auth int

const (
	AuthKey       Auth = iota // an account credential is required
	AuthAnonymous             // anonymous callers reach the handler, which decides
)

// Route declares one operation: how it is recognised and how it runs. The
// first row that matches wins, so rows with a Header condition come before
// the row they refine.
type Route struct {
	Name      string // the REST operation, for logs
	Method    string
	Level     Level
	Restype   string // required value of ?restype, "" for absent
	Comp      string // required value of ?comp, "" for absent
	Header    string // a header that must be present (e.g. x-ms-copy-source)
	Auth      Auth
	BodyLimit int64 // largest request body accepted
	Handle    func(w http.ResponseWriter, r *Request) error
	// Match, when set, must also accept the request: for services whose
	// resources are told apart by name (Table's "Tables" and "$batch").
	Match func(r *Request) bool
	// Perm lists the SAS permission letters any one of which allows this
	// operation; "" derives it from the method (GET/HEAD r, DELETE d,
	// others w) and "-" means no SAS may call it (the account key only).
	Perm string
	// PermFor, when set, chooses Perm per request (one route, two
	// permissions: Queue's peek reads, its receive processes).
	PermFor func(r *Request) string
}

// Request is what a handler gets.
type Request struct {
	*http.Request
	ID        string
	Version   string
	Account   *Account
	Container string // "" at service level
	Object    string // "" above object level
	Anonymous bool
	SAS       *SAS   // the shared access signature that authorized the request
	Principal string // the object id a bearer token spoke for
	Tenant    string // and its tenant
	Route     *Route
}

// Service is one Azure-style endpoint (Blob, Queue, Table).
type Service struct {
	Name     string
	Flavor   Flavor
	Routes   []Route
	Accounts Accounts
	// Find, when set, looks accounts up instead of Accounts, so that
	// accounts created at run time are served.
	Find   func(name string) *Account
	Errors ErrorWriter
	Log    *slog.Logger
	// Policies finds stored access policies for service SAS (optional).
	Policies PolicyLookup
	// Bearer and Action enable OAuth bearer tokens with role checks
	// (optional): Action names what a request needs.
	Bearer Bearer
	Action ActionFunc
	// Audit, when set, hears every request's outcome (err nil on success).
	Audit func(r *Request, err error)
	// UserDelegation derives user delegation keys (Blob only, optional).
	UserDelegation UserDelegationKeys
	// Version is the x-ms-version echoed when a request sends none.
	Version string
	// CORS finds the account's CORS rules for this service (optional):
	// OPTIONS preflights and requests with an Origin are answered by them.
	CORS CORSRules
	// Split parses the path below the account into container and object;
	// nil means "first segment is the container, the rest is the object".
	Split func(rest string) (container, object string)
}

// ServeHTTP dispatches one request.
func (s *Service) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	r := &Request{Request: hr, ID: uuid.NewString()}
	h := w.Header()
	h.Set("x-ms-request-id", r.ID)
	h.Set("Server", "atrest")
	r.Version = hr.Header.Get("x-ms-version")
	if r.Version == "" {
		r.Version = s.Version
	}
	h.Set("x-ms-version", r.Version)
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if cid := hr.Header.Get("x-ms-client-request-id"); cid != "" {
		h.Set("x-ms-client-request-id", cid)
	}
	err := s.serve(w, r)
	if err != nil {
		s.writeError(w, r, err)
	}
	if s.Audit != nil {
		s.Audit(r, err)
	}
}

func (s *Service) serve(w http.ResponseWriter, r *Request) error {
	raw := rawPath(r.Request)
	trimmed := strings.TrimPrefix(raw, "/")
	acctName, rest, _ := strings.Cut(trimmed, "/")
	acct := s.Accounts[acctName]
	if s.Find != nil {
		acct = s.Find(acctName)
	}
	if acct == nil {
		return ErrInvalidURI.With("The account %q does not exist on this server.", acctName)
	}
	r.Account = acct
	decoded := strings.TrimPrefix(r.URL.Path, "/")
	// NUL separates the parts of store keys: no name may hold one.
	if strings.ContainsRune(decoded, 0) || !utf8.ValidString(decoded) {
		return ErrInvalidURI.With("The resource name holds a character that is not allowed.")
	}
	_, drest, _ := strings.Cut(decoded, "/")
	if s.Split != nil {
		r.Container, r.Object = s.Split(drest)
	} else {
		r.Container, r.Object, _ = strings.Cut(drest, "/")
	}
	if r.Method == http.MethodOptions {
		return s.preflight(w, r)
	}
	s.corsHeaders(w, r)
	level := LevelService
	if r.Object != "" {
		level = LevelObject
	} else if r.Container != "" {
		level = LevelContainer
	}
	route, err := s.match(r, level)
	if err != nil {
		return err
	}
	r.Route = route
	if err := checkTransport(r); err != nil {
		return err
	}
	if err := s.authenticate(r, raw, "/"+rest); err != nil {
		return err
	}
	if r.ContentLength > route.BodyLimit {
		return ErrBodyTooLarge
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, route.BodyLimit)
	}
	return route.Handle(w, r)
}

func (s *Service) match(r *Request, level Level) (*Route, error) {
	q := r.URL.Query()
	restype, comp := q.Get("restype"), q.Get("comp")
	method := r.Method
	var sameResource bool
	for i := range s.Routes {
		rt := &s.Routes[i]
		if rt.Level != level || rt.Restype != restype || rt.Comp != comp || (rt.Match != nil && !rt.Match(r)) {
			continue
		}
		sameResource = true
		if rt.Method != method {
			continue
		}
		if rt.Header != "" && r.Header.Get(rt.Header) == "" {
			continue
		}
		return rt, nil
	}
	if sameResource {
		return nil, ErrUnsupportedVerb
	}
	return nil, ErrInvalidQueryParameter.With("The requested combination of restype=%q and comp=%q is not supported here.", restype, comp)
}

func (s *Service) authenticate(r *Request, rawFull, rawRest string) error {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		if sas := parseSAS(r.URL.Query()); sas != nil {
			if r.Account.Switches.NoSharedKey && !sas.IsUserDelegation() {
				return ErrKeyAuthNotPermitted
			}
			return s.authorizeSAS(r, sas)
		}
		if r.Route.Auth == AuthAnonymous {
			if r.Account.Switches.NoPublicAccess {
				return ErrPublicAccessNotPermitted
			}
			r.Anonymous = true
			return nil
		}
		if s.Bearer != nil {
			e := *ErrNoAuthenticationInfo
			e.Header = map[string]string{"WWW-Authenticate": s.Bearer.Challenge()}
			return &e
		}
		return ErrNoAuthenticationInfo
	}
	scheme, cred, _ := strings.Cut(authz, " ")
	if scheme == "Bearer" {
		return s.authorizeBearer(r, cred)
	}
	if scheme != "SharedKey" && scheme != "SharedKeyLite" {
		return ErrAuthenticationFailed.With("The authorization scheme %q is not supported.", scheme)
	}
	if r.Account.Switches.NoSharedKey {
		return ErrKeyAuthNotPermitted
	}
	name, sig, ok := strings.Cut(strings.TrimSpace(cred), ":")
	if !ok || name != r.Account.Name {
		return ErrAuthenticationFailed.With("The account in the Authorization header does not match the request.")
	}
	if r.Header.Get("x-ms-date") == "" && r.Header.Get("Date") == "" {
		return ErrAuthenticationFailed.With("Request date header not specified.")
	}
	paths := []string{rawFull}
	if dec := r.URL.Path; dec != rawFull {
		paths = append(paths, dec)
	}
	if !checkSharedKey(s.Flavor, r.Request, r.Account, scheme, sig, paths) {
		return ErrAuthenticationFailed.With("The MAC signature found in the HTTP request is not the same as any computed signature.")
	}
	return nil
}

func rawPath(r *http.Request) string {
	p := r.RequestURI
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return r.URL.EscapedPath()
	}
	if p == "" {
		return r.URL.EscapedPath()
	}
	return p
}

func (s *Service) writeError(w http.ResponseWriter, r *Request, err error) {
	var e *Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &mbe):
		e = ErrBodyTooLarge
	case errors.Is(err, syscall.ENOSPC):
		s.Log.Error("storage full", "request", r.ID, "err", err)
		e = ErrInsufficientStorage
	case errors.Is(err, context.Canceled), errors.Is(err, io.ErrUnexpectedEOF):
		s.Log.Info("request cut off", "request", r.ID, "err", err)
		e = ErrInvalidInput.With("The request body ended before its declared length.")
	default:
		s.Log.Error("internal error", "request", r.ID, "op", routeName(r), "err", err)
		e = ErrInternal
	}
	h := w.Header()
	h.Set("x-ms-error-code", e.Code)
	for k, v := range e.Header {
		h.Set(k, v)
	}
	if r.Method == http.MethodHead || e.Status == http.StatusNotModified {
		w.WriteHeader(e.Status)
		return
	}
	s.Errors(w, e, r.ID)
}

func routeName(r *Request) string {
	if r.Route == nil {
		return ""
	}
	return r.Route.Name
}

func nowRFC3339() string { return time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z") }
