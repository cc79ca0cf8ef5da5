package keyvault

import (
	"encoding/json"
	"strings"
	"time"
)

// policyRecord is a stored rotation policy.
type policyRecord struct {
	Actions    []lifetimeAction `json:"actions"`
	ExpiryTime string           `json:"expiryTime,omitempty"` // ISO 8601 duration
	Created    time.Time        `json:"created"`
	Updated    time.Time        `json:"updated"`
}

type lifetimeAction struct {
	Type             string `json:"type"` // Rotate or Notify
	TimeAfterCreate  string `json:"timeAfterCreate,omitempty"`
	TimeBeforeExpiry string `json:"timeBeforeExpiry,omitempty"`
}

// The wire shape of a rotation policy.
type policyJSON struct {
	ID              string               `json:"id,omitempty"`
	LifetimeActions []lifetimeActionJSON `json:"lifetimeActions"`
	Attributes      *policyAttrJSON      `json:"attributes,omitempty"`
}

type lifetimeActionJSON struct {
	Trigger struct {
		TimeAfterCreate  *string `json:"timeAfterCreate,omitempty"`
		TimeBeforeExpiry *string `json:"timeBeforeExpiry,omitempty"`
	} `json:"trigger"`
	Action struct {
		Type string `json:"type"`
	} `json:"action"`
}

type policyAttrJSON struct {
	ExpiryTime *string `json:"expiryTime,omitempty"`
	Created    *int64  `json:"created,omitempty"`
	Updated    *int64  `json:"updated,omitempty"`
}

// Azure's limits on rotation policies.
const (
	minExpiry      = 28 * 24 * time.Hour
	minAfterCreate = 7 * 24 * time.Hour
	minBeforeExp   = 7 * 24 * time.Hour
)

// parsePolicy validates a policy from the wire.
func parsePolicy(body []byte) (*policyRecord, *Error) {
	var pj policyJSON
	if err := json.Unmarshal(body, &pj); err != nil {
		return nil, badParameter("The rotation policy is not valid JSON: %v.", err)
	}
	p := &policyRecord{}
	var expiry *isoDuration
	if pj.Attributes != nil && pj.Attributes.ExpiryTime != nil && *pj.Attributes.ExpiryTime != "" {
		d, err := parseISODuration(*pj.Attributes.ExpiryTime)
		if err != nil {
			return nil, badParameter("expiryTime: %v.", err)
		}
		if d.approx() < minExpiry {
			return nil, badParameter("expiryTime must be at least 28 days (P28D).")
		}
		p.ExpiryTime = strings.ToUpper(*pj.Attributes.ExpiryTime)
		expiry = &d
	}
	seen := map[string]bool{}
	for _, a := range pj.LifetimeActions {
		var typ string
		switch strings.ToLower(a.Action.Type) {
		case "rotate":
			typ = "Rotate"
		case "notify":
			typ = "Notify"
		default:
			return nil, badParameter("Lifetime action type %q is not valid; use Rotate or Notify.", a.Action.Type)
		}
		if seen[typ] {
			return nil, badParameter("A policy has at most one %s action.", typ)
		}
		seen[typ] = true
		la := lifetimeAction{Type: typ}
		tac, tbe := a.Trigger.TimeAfterCreate, a.Trigger.TimeBeforeExpiry
		if (tac == nil) == (tbe == nil) {
			return nil, badParameter("Each lifetime action needs exactly one trigger: timeAfterCreate or timeBeforeExpiry.")
		}
		if tac != nil && typ == "Notify" {
			return nil, badParameter("A Notify action is triggered by timeBeforeExpiry only.")
		}
		if tac != nil {
			d, err := parseISODuration(*tac)
			if err != nil {
				return nil, badParameter("timeAfterCreate: %v.", err)
			}
			if d.approx() < minAfterCreate {
				return nil, badParameter("timeAfterCreate must be at least 7 days (P7D).")
			}
			if expiry != nil && d.approx() >= expiry.approx() {
				return nil, badParameter("timeAfterCreate must be shorter than expiryTime.")
			}
			la.TimeAfterCreate = strings.ToUpper(*tac)
		} else {
			d, err := parseISODuration(*tbe)
			if err != nil {
				return nil, badParameter("timeBeforeExpiry: %v.", err)
			}
			if d.approx() < minBeforeExp {
				return nil, badParameter("timeBeforeExpiry must be at least 7 days (P7D).")
			}
			if expiry != nil && d.approx() >= expiry.approx() {
				return nil, badParameter("timeBeforeExpiry must be shorter than expiryTime.")
			}
			la.TimeBeforeExpiry = strings.ToUpper(*tbe)
		}
		p.Actions = append(p.Actions, la)
	}
	return p, nil
}

// defaultPolicy is what Key Vault reports for a key without a policy.
var defaultPolicy = policyRecord{Actions: []lifetimeAction{{Type: "Notify", TimeBeforeExpiry: "P30D"}}}

func (p *policyRecord) wire(id string) policyJSON {
	out := policyJSON{ID: id, LifetimeActions: []lifetimeActionJSON{}}
	for _, a := range p.Actions {
		var la lifetimeActionJSON
		la.Action.Type = a.Type
		if a.TimeAfterCreate != "" {
			la.Trigger.TimeAfterCreate = &a.TimeAfterCreate
		}
		if a.TimeBeforeExpiry != "" {
			la.Trigger.TimeBeforeExpiry = &a.TimeBeforeExpiry
		}
		out.LifetimeActions = append(out.LifetimeActions, la)
	}
	attr := &policyAttrJSON{}
	if p.ExpiryTime != "" {
		attr.ExpiryTime = &p.ExpiryTime
	}
	if !p.Created.IsZero() {
		c, u := p.Created.Unix(), p.Updated.Unix()
		attr.Created, attr.Updated = &c, &u
	}
	out.Attributes = attr
	return out
}

// due reports whether action a is due for a key version created at created
// and expiring at exp (nil: never) at time now.
func (a lifetimeAction) due(created time.Time, exp *time.Time, now time.Time) bool {
	if a.TimeAfterCreate != "" {
		d, err := parseISODuration(a.TimeAfterCreate)
		return err == nil && !now.Before(d.addTo(created))
	}
	if a.TimeBeforeExpiry != "" && exp != nil {
		d, err := parseISODuration(a.TimeBeforeExpiry)
		return err == nil && !now.Before(d.subFrom(*exp))
	}
	return false
}

// expiryFor is the expiry a new version gets under the policy, or nil.
func (p *policyRecord) expiryFor(created time.Time) *time.Time {
	if p == nil || p.ExpiryTime == "" {
		return nil
	}
	d, err := parseISODuration(p.ExpiryTime)
	if err != nil {
		return nil
	}
	t := d.addTo(created)
	return &t
}
