package edge

import (
	"net/http"
	"strconv"
	"strings"
)

// CORSRule is one rule of a service's CORS properties, as Set Service
// Properties stores it: comma-separated lists, "*" for any.
type CORSRule struct {
	AllowedOrigins  string `xml:"AllowedOrigins"`
	AllowedMethods  string `xml:"AllowedMethods"`
	AllowedHeaders  string `xml:"AllowedHeaders"`
	ExposedHeaders  string `xml:"ExposedHeaders"`
	MaxAgeInSeconds int    `xml:"MaxAgeInSeconds"`
}

// CORSRules finds an account's rules for one service (optional).
type CORSRules func(account string) ([]CORSRule, error)

var errCORSPreflight = &Error{Status: http.StatusForbidden, Code: "CorsPreflightFailure",
	Message: "CORS not enabled or no matching rule found for this request."}

func listHas(list, v string, fold bool) bool {
	for _, it := range strings.Split(list, ",") {
		it = strings.TrimSpace(it)
		switch {
		case it == "*":
			return true
		case strings.HasSuffix(it, "*") && strings.HasPrefix(strings.ToLower(v), strings.ToLower(strings.TrimSuffix(it, "*"))):
			return true // header prefixes such as x-ms-meta-*
		case fold && strings.EqualFold(it, v), !fold && it == v:
			return true
		}
	}
	return false
}

// matchCORS is the first rule that allows origin, method and every header
// (Azure evaluates rules in order and uses the first that matches).
func matchCORS(rules []CORSRule, origin, method string, headers []string) *CORSRule {
	for i := range rules {
		r := &rules[i]
		if !listHas(r.AllowedOrigins, origin, false) || !listHas(r.AllowedMethods, method, true) {
			continue
		}
		ok := true
		for _, h := range headers {
			if h = strings.TrimSpace(h); h != "" && !listHas(r.AllowedHeaders, h, true) {
				ok = false
				break
			}
		}
		if ok {
			return r
		}
	}
	return nil
}

// allowOrigin is the Access-Control-Allow-Origin answer: "*" when the rule
// allows any origin, else the origin itself (and credentials).
func allowOrigin(h http.Header, rule *CORSRule, origin string) {
	if strings.TrimSpace(rule.AllowedOrigins) == "*" {
		h.Set("Access-Control-Allow-Origin", "*")
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
}

// preflight answers an OPTIONS request: no authentication, the account's
// rules decide.
func (s *Service) preflight(w http.ResponseWriter, r *Request) error {
	origin, method := r.Header.Get("Origin"), r.Header.Get("Access-Control-Request-Method")
	if origin == "" || method == "" {
		return ErrInvalidHeaderValue.With("A CORS preflight request needs Origin and Access-Control-Request-Method.")
	}
	var rules []CORSRule
	if s.CORS != nil {
		var err error
		if rules, err = s.CORS(r.Account.Name); err != nil {
			return err
		}
	}
	var headers []string
	if v := r.Header.Get("Access-Control-Request-Headers"); v != "" {
		headers = strings.Split(v, ",")
	}
	rule := matchCORS(rules, origin, method, headers)
	if rule == nil {
		return errCORSPreflight
	}
	h := w.Header()
	allowOrigin(h, rule, origin)
	h.Set("Access-Control-Allow-Methods", method)
	if v := r.Header.Get("Access-Control-Request-Headers"); v != "" {
		h.Set("Access-Control-Allow-Headers", v)
	}
	h.Set("Access-Control-Max-Age", strconv.Itoa(rule.MaxAgeInSeconds))
	w.WriteHeader(http.StatusOK)
	return nil
}

// corsHeaders adds the CORS answer to a request that carries an Origin,
// when a rule allows it.
func (s *Service) corsHeaders(w http.ResponseWriter, r *Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || s.CORS == nil {
		return
	}
	rules, err := s.CORS(r.Account.Name)
	if err != nil {
		return
	}
	rule := matchCORS(rules, origin, r.Method, nil)
	if rule == nil {
		return
	}
	h := w.Header()
	allowOrigin(h, rule, origin)
	if rule.ExposedHeaders != "" {
		h.Set("Access-Control-Expose-Headers", rule.ExposedHeaders)
	}
}
