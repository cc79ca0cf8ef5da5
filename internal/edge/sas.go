package edge

import (
	"crypto/hmac"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SAS is a parsed shared access signature from a request's query.
type SAS struct {
	Version     string // sv
	Services    string // ss (account SAS)
	Types       string // srt (account SAS)
	Resource    string // sr (service SAS)
	Perm        string // sp
	Start       string // st
	Expiry      string // se
	IP          string // sip
	Protocol    string // spr
	Identifier  string // si
	Scope       string // ses
	Snapshot    string // snapshot time for sr=bs
	Sig         string
	Overrides   map[string]string // rscc, rscd, rsce, rscl, rsct
	TableFields [4]string         // spk, srk, epk, erk
	TableName   string            // tn
	policy      *StoredPolicy     // the stored access policy named by si

	// User delegation SAS: the key the principal got from Get User
	// Delegation Key, named by its fields, and the principal's extras.
	KeyOID, KeyTID, KeyStart, KeyExpiry, KeyService, KeyVersion string // skoid, sktid, skt, ske, sks, skv
	AuthorizedOID, UnauthorizedOID, CorrelationID               string // saoid, suoid, scid
	DelegatedTID, DelegatedOID                                  string // skdutid, sduoid
}

// IsUserDelegation reports a user delegation SAS.
func (s *SAS) IsUserDelegation() bool { return s.KeyOID != "" }

// UserDelegationKeys derives the value of a user delegation key from its
// fields, so that a SAS signed with it can be checked without storing it.
type UserDelegationKeys func(account, oid, tid, start, expiry, service, version string) ([]byte, error)

// IsAccount reports an account SAS (as opposed to a service SAS).
func (s *SAS) IsAccount() bool { return s.Services != "" || s.Types != "" }

// Permissions are the permission letters the SAS grants: its own sp, or its
// stored access policy's.
func (s *SAS) Permissions() string {
	if s.policy != nil {
		return firstNonEmpty(s.Perm, s.policy.Perm)
	}
	return s.Perm
}

// StoredPolicy is a stored access policy a service SAS may name with si.
type StoredPolicy struct {
	Perm, Start, Expiry string
}

// PolicyLookup finds a container's (queue's, table's) stored access policy.
type PolicyLookup func(account, container, id string) (*StoredPolicy, error)

// SAS errors, as Azure names them.
var (
	// ErrSASPermission: the SAS lacks a permission the operation needs.
	ErrSASPermission = &Error{Status: http.StatusForbidden, Code: "AuthorizationPermissionMismatch", Message: "This request is not authorized to perform this operation using this permission."}
	errSASResource   = &Error{Status: http.StatusForbidden, Code: "AuthorizationResourceTypeMismatch", Message: "This request is not authorized to perform this operation using this resource type."}
	errSASService    = &Error{Status: http.StatusForbidden, Code: "AuthorizationServiceMismatch", Message: "This request is not authorized to perform this operation using this service."}
	errSASIP         = &Error{Status: http.StatusForbidden, Code: "AuthorizationSourceIPMismatch", Message: "This request is not authorized to perform this operation using this source IP."}
	errSASProtocol   = &Error{Status: http.StatusForbidden, Code: "AuthorizationProtocolMismatch", Message: "This request is not authorized to perform this operation using this protocol."}
)

func parseSAS(q url.Values) *SAS {
	if q.Get("sig") == "" {
		return nil
	}
	s := &SAS{Version: q.Get("sv"), Services: q.Get("ss"), Types: q.Get("srt"), Resource: q.Get("sr"),
		Perm: q.Get("sp"), Start: q.Get("st"), Expiry: q.Get("se"), IP: q.Get("sip"), Protocol: q.Get("spr"),
		Identifier: q.Get("si"), Scope: q.Get("ses"), Snapshot: q.Get("snapshot"), Sig: q.Get("sig"),
		TableName: q.Get("tn"), Overrides: map[string]string{},
		KeyOID: q.Get("skoid"), KeyTID: q.Get("sktid"), KeyStart: q.Get("skt"), KeyExpiry: q.Get("ske"),
		KeyService: q.Get("sks"), KeyVersion: q.Get("skv"), AuthorizedOID: q.Get("saoid"),
		UnauthorizedOID: q.Get("suoid"), CorrelationID: q.Get("scid"), DelegatedTID: q.Get("skdutid"), DelegatedOID: q.Get("sduoid")}
	for _, k := range []string{"rscc", "rscd", "rsce", "rscl", "rsct"} {
		if v := q.Get(k); v != "" {
			s.Overrides[k] = v
		}
	}
	s.TableFields = [4]string{q.Get("spk"), q.Get("srk"), q.Get("epk"), q.Get("erk")}
	return s
}

// serviceLetter is the ss letter of a service.
func (s *Service) serviceLetter() string {
	switch s.Name {
	case "queue":
		return "q"
	case "table":
		return "t"
	case "file":
		return "f"
	}
	return "b"
}

// accountStringToSign is the account SAS string-to-sign; versions from
// 2020-12-06 add the encryption scope.
func accountStringToSign(account string, s *SAS) string {
	parts := []string{account, s.Perm, s.Services, s.Types, s.Start, s.Expiry, s.IP, s.Protocol, s.Version}
	if s.Version >= "2020-12-06" {
		parts = append(parts, s.Scope)
	}
	return strings.Join(parts, "\n") + "\n"
}

// serviceStringToSign is the service SAS string-to-sign of each service.
func (sv *Service) serviceStringToSign(account string, r *Request, s *SAS) string {
	switch sv.Name {
	case "queue":
		return strings.Join([]string{s.Perm, s.Start, s.Expiry, "/queue/" + account + "/" + r.Container,
			s.Identifier, s.IP, s.Protocol, s.Version}, "\n")
	case "table":
		name := s.TableName
		if name == "" {
			name = r.Container
		}
		return strings.Join([]string{s.Perm, s.Start, s.Expiry, "/table/" + account + "/" + strings.ToLower(name),
			s.Identifier, s.IP, s.Protocol, s.Version, s.TableFields[0], s.TableFields[1], s.TableFields[2], s.TableFields[3]}, "\n")
	}
	res := "/blob/" + account + "/" + r.Container
	if s.Resource != "c" {
		res += "/" + r.Object
	}
	o := s.Overrides
	parts := []string{s.Perm, s.Start, s.Expiry, res, s.Identifier, s.IP, s.Protocol, s.Version}
	switch {
	case s.Version >= "2020-12-06":
		parts = append(parts, s.Resource, s.Snapshot, s.Scope)
	case s.Version >= "2018-11-09":
		parts = append(parts, s.Resource, s.Snapshot)
	}
	parts = append(parts, o["rscc"], o["rscd"], o["rsce"], o["rscl"], o["rsct"])
	return strings.Join(parts, "\n")
}

// authorizeSAS checks a SAS: signature (constant time, either key), time
// window, IP, protocol, service, resource type or scope, and permission.
func (sv *Service) authorizeSAS(r *Request, s *SAS) error {
	if s.Version == "" || s.Sig == "" {
		return ErrAuthenticationFailed.With("The SAS is missing sv or sig.")
	}
	var sts string
	signKeys := make([][]byte, 0, len(r.Account.Keys))
	for _, k := range r.Account.Keys {
		signKeys = append(signKeys, k.Bytes())
	}
	if s.IsUserDelegation() {
		if sv.UserDelegation == nil || sv.Name != "blob" || r.Container == "" {
			return ErrAuthenticationFailed.With("User delegation SAS is not accepted here.")
		}
		key, err := sv.UserDelegation(r.Account.Name, s.KeyOID, s.KeyTID, s.KeyStart, s.KeyExpiry, s.KeyService, s.KeyVersion)
		if err != nil {
			return ErrAuthenticationFailed.With("The user delegation key is not valid.")
		}
		if t, err := parseSASTime(s.KeyExpiry); err != nil || !time.Now().Before(t) {
			return ErrAuthenticationFailed.With("The user delegation key has expired.")
		}
		signKeys = [][]byte{key}
		sts = userDelegationStringToSign(r.Account.Name, r, s)
	} else if s.IsAccount() {
		sts = accountStringToSign(r.Account.Name, s)
	} else {
		if r.Container == "" {
			return errSASResource
		}
		if s.Identifier != "" {
			if err := sv.applyPolicy(r, s); err != nil {
				return err
			}
		}
		sts = sv.serviceStringToSign(r.Account.Name, r, s)
	}
	given, err := base64.StdEncoding.DecodeString(s.Sig)
	if err != nil {
		return ErrAuthenticationFailed.With("The SAS signature is not valid base64.")
	}
	ok := false
	for _, k := range signKeys {
		if hmac.Equal(Sign(k, sts), given) {
			ok = true
		}
	}
	if !ok {
		return ErrAuthenticationFailed.With("Signature did not match.")
	}
	now := time.Now().UTC()
	start, expiry := s.Start, s.Expiry
	if s.policy != nil {
		start, expiry = firstNonEmpty(start, s.policy.Start), firstNonEmpty(expiry, s.policy.Expiry)
	}
	if expiry == "" {
		return ErrAuthenticationFailed.With("Signed expiry time must be specified.")
	}
	if t, err := parseSASTime(expiry); err != nil || !now.Before(t) {
		return ErrAuthenticationFailed.With("Signed expiry time has passed or is not valid.")
	}
	if start != "" {
		if t, err := parseSASTime(start); err != nil || now.Add(5*time.Minute).Before(t) {
			return ErrAuthenticationFailed.With("Signed start time is in the future or not valid.")
		}
	}
	if s.Protocol == "https" && r.TLS == nil {
		return errSASProtocol
	}
	if s.IP != "" && !ipAllowed(s.IP, r.RemoteAddr) {
		return errSASIP
	}
	perm := s.Permissions()
	if s.IsAccount() {
		if !strings.Contains(s.Services, sv.serviceLetter()) {
			return errSASService
		}
		if !strings.Contains(s.Types, levelLetter(r.Route.Level)) {
			return errSASResource
		}
	} else if err := serviceSASCovers(sv.Name, r, s); err != nil {
		return err
	}
	need := routePerm(r.Route)
	if r.Route.PermFor != nil {
		need = r.Route.PermFor(r)
	}
	if need == "-" || !strings.ContainsAny(perm, need) {
		return ErrSASPermission
	}
	// A user delegation SAS grants no more than its principal holds now.
	if s.IsUserDelegation() {
		if sv.Bearer == nil || sv.Action == nil {
			return ErrSASPermission
		}
		action, scope := sv.Action(r)
		if action == "" || !sv.Bearer.Allowed(s.KeyOID, action, scope) {
			return ErrSASPermission
		}
		r.Principal = s.KeyOID
	}
	r.SAS = s
	return nil
}

// userDelegationStringToSign follows the versions: the principal fields
// from 2020-02-10, the encryption scope from 2020-12-06, and the delegated
// user and signed request headers/parameters from 2025-07-05.
func userDelegationStringToSign(account string, r *Request, s *SAS) string {
	res := "/blob/" + account + "/" + r.Container
	if s.Resource != "c" {
		res += "/" + r.Object
	}
	o := s.Overrides
	parts := []string{s.Perm, s.Start, s.Expiry, res, s.KeyOID, s.KeyTID, s.KeyStart, s.KeyExpiry, s.KeyService, s.KeyVersion}
	if s.Version >= "2020-02-10" {
		parts = append(parts, s.AuthorizedOID, s.UnauthorizedOID, s.CorrelationID)
	}
	if s.Version >= "2025-07-05" {
		parts = append(parts, s.DelegatedTID, s.DelegatedOID)
	}
	parts = append(parts, s.IP, s.Protocol, s.Version, s.Resource, s.Snapshot)
	if s.Version >= "2020-12-06" {
		parts = append(parts, s.Scope)
	}
	if s.Version >= "2025-07-05" {
		parts = append(parts, "", "") // signed request headers and query parameters: none supported
	}
	parts = append(parts, o["rscc"], o["rscd"], o["rsce"], o["rscl"], o["rsct"])
	return strings.Join(parts, "\n")
}

func (sv *Service) applyPolicy(r *Request, s *SAS) error {
	if sv.Policies == nil {
		return ErrAuthenticationFailed.With("Stored access policies are not supported here.")
	}
	// a table SAS names its table (tn); the request may be a batch
	c := r.Container
	if sv.Name == "table" && s.TableName != "" {
		c = s.TableName
	}
	p, err := sv.Policies(r.Account.Name, c, s.Identifier)
	if err != nil || p == nil {
		return ErrAuthenticationFailed.With("The signed identifier does not name a stored access policy.")
	}
	// A field may come from the SAS or the policy, never both.
	if (s.Perm != "" && p.Perm != "") || (s.Expiry != "" && p.Expiry != "") || (s.Start != "" && p.Start != "") {
		return ErrAuthenticationFailed.With("A field is given by both the SAS and its stored access policy.")
	}
	s.policy = p
	return nil
}

// serviceSASCovers checks that a service SAS's resource covers the request.
func serviceSASCovers(service string, r *Request, s *SAS) error {
	switch service {
	case "queue":
		return nil // the request's queue is in the signed resource
	case "table":
		// a table SAS reaches the entities of the one table it signs (tn),
		// never the table operations themselves
		switch r.Container {
		case "Tables":
			return errSASResource
		case "$batch":
			return nil // each operation of the batch is checked
		}
		if s.TableName != "" && !strings.EqualFold(s.TableName, r.Container) {
			return ErrAuthorizationFailure
		}
		return nil
	}
	switch s.Resource {
	case "c":
		return nil
	case "b", "bs", "bv":
		if r.Object == "" {
			return errSASResource
		}
		return nil
	}
	return errSASResource
}

func levelLetter(l Level) string {
	switch l {
	case LevelService:
		return "s"
	case LevelContainer:
		return "c"
	}
	return "o"
}

// routePerm is the set of SAS permission letters any one of which allows a
// route: its declared Perm, or one derived from its method.
func routePerm(rt *Route) string {
	if rt.Perm != "" {
		return rt.Perm
	}
	switch rt.Method {
	case http.MethodGet, http.MethodHead:
		return "r"
	case http.MethodDelete:
		return "d"
	}
	return "w"
}

func parseSASTime(v string) (time.Time, error) {
	for _, f := range []string{time.RFC3339, "2006-01-02T15:04Z", "2006-01-02"} {
		if t, err := time.Parse(f, v); err == nil {
			return t, nil
		}
	}
	return time.Parse(time.RFC3339Nano, v)
}

func ipAllowed(spec, remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	lo, hi, found := strings.Cut(spec, "-")
	l, h := net.ParseIP(lo), net.ParseIP(hi)
	if !found {
		h = l
	}
	if l == nil || h == nil {
		return false
	}
	ip4, l4, h4 := ip.To16(), l.To16(), h.To16()
	return bytesCompare(ip4, l4) >= 0 && bytesCompare(ip4, h4) <= 0
}

func bytesCompare(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
