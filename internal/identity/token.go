package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims atrest puts in an access token, named as Entra ID
// names them.
type Claims struct {
	jwt.RegisteredClaims
	TenantID string `json:"tid"`
	ObjectID string `json:"oid"`
	AppID    string `json:"appid,omitempty"`
	AZP      string `json:"azp,omitempty"`
	IDType   string `json:"idtyp,omitempty"`
	Version  string `json:"ver,omitempty"`
	UTI      string `json:"uti,omitempty"`
}

// Caller is the principal a verified token speaks for.
type Caller struct {
	ObjectID string
	AppID    string
	TenantID string
	Name     string
	Audience string
	Expires  time.Time
}

// Token is an issued access token.
type Token struct {
	Value   string
	Expires time.Time
}

// issue signs a token for p with the given audience and issuer.
func (s *Service) issue(p *Principal, audience, issuer string) (Token, error) {
	now := time.Now().UTC().Truncate(time.Second)
	exp := now.Add(s.ttl)
	uti := make([]byte, 16)
	if _, err := rand.Read(uti); err != nil {
		return Token{}, err
	}
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   p.ObjectID,
			Audience:  jwt.ClaimStrings{audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
		},
		TenantID: s.tenant, ObjectID: p.ObjectID, AppID: p.ClientID, AZP: p.ClientID,
		IDType: "app", Version: "2.0", UTI: base64.RawURLEncoding.EncodeToString(uti),
	}
	sk := s.sign.signer()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = sk.kid
	v, err := t.SignedString(sk.priv)
	if err != nil {
		return Token{}, err
	}
	return Token{Value: v, Expires: exp}, nil
}

// IssueFor mints a token for a principal without a network round trip;
// in-process callers (a storage account's identity) use it.
func (s *Service) IssueFor(ref, audience string) (Token, error) {
	p, err := s.Lookup(ref)
	if err != nil {
		return Token{}, err
	}
	return s.issue(&p, audience, s.issuerURL("localhost", s.tenant))
}

// Sign signs claims exactly as given with the current signing key. The
// token endpoints build their claims with issue; Sign lets in-process code
// (tests included) make tokens with chosen times, audiences or issuers,
// which Verify then judges like any other.
func (s *Service) Sign(c Claims) (string, error) {
	sk := s.sign.signer()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = sk.kid
	return t.SignedString(sk.priv)
}

// Issuer is the issuer URL tokens from https://{host} carry.
func (s *Service) Issuer(host string) string { return s.issuerURL(host, s.tenant) }

// issuerURL is the issuer named by the authority a client used.
func (s *Service) issuerURL(host, tenantSegment string) string {
	if p := s.port.Load(); p != 0 && !strings.Contains(host, ":") {
		host = net.JoinHostPort(host, strconv.Itoa(int(p)))
	}
	if strings.EqualFold(tenantSegment, "adfs") {
		return "https://" + host + "/adfs"
	}
	return "https://" + host + "/" + s.tenant + "/v2.0"
}

// ErrInvalidToken is wrapped by every Verify failure. The message says why
// (expired, audience, ...) but never repeats the token.
var ErrInvalidToken = errors.New("invalid token")

// Verify checks a bearer token: RS256 signature by one of this issuer's
// keys, issuer, audience (audienceOK decides), expiry and not-before
// (both required), tenant, and that the principal still exists.
func (s *Service) Verify(raw string, audienceOK func(aud string) bool) (Caller, error) {
	c, err := s.verified(raw)
	if err != nil {
		return Caller{}, err
	}
	now := time.Now()
	if !now.Before(c.ExpiresAt.Time) {
		return Caller{}, fmt.Errorf("%w: token is expired", ErrInvalidToken)
	}
	if now.Before(c.NotBefore.Time) {
		return Caller{}, fmt.Errorf("%w: token is not valid yet", ErrInvalidToken)
	}
	var aud string
	for _, a := range c.Audience {
		if audienceOK(a) {
			aud = a
			break
		}
	}
	if aud == "" {
		return Caller{}, fmt.Errorf("%w: audience %q is not accepted here", ErrInvalidToken, strings.Join(c.Audience, " "))
	}
	p := s.principalByOID(c.ObjectID)
	if p == nil || p.ObjectID != c.Subject {
		return Caller{}, fmt.Errorf("%w: the principal no longer exists", ErrInvalidToken)
	}
	return Caller{ObjectID: p.ObjectID, AppID: p.ClientID, TenantID: s.tenant, Name: p.Name, Audience: aud,
		Expires: c.ExpiresAt.Time}, nil
}

// verified checks a token's signature and its fixed claims (issuer, tenant,
// required times), remembering tokens that passed so that a client reusing
// its token for an hour pays for one RSA verification, not one per request.
// Times, audience and the principal are checked by Verify on every use.
func (s *Service) verified(raw string) (*Claims, error) {
	sum := sha256.Sum256([]byte(raw))
	s.tokMu.Lock()
	c, ok := s.tokCache[sum]
	s.tokMu.Unlock()
	if ok {
		return c, nil
	}
	c = &Claims{}
	_, err := jwt.ParseWithClaims(raw, c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		pub, ok := s.sign.public(kid)
		if !ok {
			return nil, errors.New("token is not signed by a key of this issuer")
		}
		return pub, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithNotBeforeRequired(),
		jwt.WithIssuedAt(), jwt.WithTimeFunc(time.Now))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidToken, reason(err))
	}
	if !s.validIssuer(c.Issuer) {
		return nil, fmt.Errorf("%w: issuer is not this installation's", ErrInvalidToken)
	}
	if !strings.EqualFold(c.TenantID, s.tenant) {
		return nil, fmt.Errorf("%w: token is for another tenant", ErrInvalidToken)
	}
	s.tokMu.Lock()
	if len(s.tokCache) >= maxVerifiedTokens {
		clear(s.tokCache)
	}
	s.tokCache[sum] = c
	s.tokMu.Unlock()
	return c, nil
}

// maxVerifiedTokens bounds the verified-token cache.
const maxVerifiedTokens = 4096

func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token is expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token is not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token is issued in the future"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token lacks exp or nbf"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "signature does not verify"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "token is malformed"
	}
	return "token does not verify"
}

// validIssuer accepts the issuer URLs this installation hands out.
func (s *Service) validIssuer(iss string) bool {
	u, err := url.Parse(iss)
	if err != nil || u.Scheme != "https" || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	if !s.hostAllowed(u.Host) {
		return false
	}
	return u.Path == "/"+s.tenant+"/v2.0" || u.Path == "/adfs"
}

// hostAllowed reports whether host[:port] names this issuer.
func (s *Service) hostAllowed(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.Trim(hostport, "[]"), ""
	}
	if p := s.port.Load(); p != 0 && port != strconv.Itoa(int(p)) {
		return false
	}
	for _, h := range s.hosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}
