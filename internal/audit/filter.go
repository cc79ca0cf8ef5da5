package audit

import (
	"strings"
	"time"
)

// Filter selects events; zero fields match everything. String fields
// compare case-insensitively.
type Filter struct {
	Since, Until time.Time
	Caller       string // object id or app id
	Vault        string
	Key          string
	Operation    string
	Result       string
	RequestID    string
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Event) bool {
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !e.Time.Before(f.Until) {
		return false
	}
	if f.Caller != "" && !strings.EqualFold(f.Caller, e.Caller) && !strings.EqualFold(f.Caller, e.AppID) {
		return false
	}
	return same(f.Vault, e.Vault) && same(f.Key, e.Key) && same(f.Operation, e.Operation) &&
		same(f.Result, e.Result) && same(f.RequestID, e.RequestID)
}

func same(want, got string) bool { return want == "" || strings.EqualFold(want, got) }
