package keyvault

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/audit"
	"github.com/atrest/atrest/internal/sse"
)

// The sweep carries out what time brings: rotations due under a key's
// rotation policy, Notify actions, and purges of deleted keys whose
// retention has ended. It runs every Options.SweepEvery and right after the
// clock is advanced; its actions are audited with caller "service".

// SweepReport lists what a sweep did, as vault/key names.
type SweepReport struct {
	Rotated  []string `json:"rotated"`
	Notified []string `json:"notified"`
	Purged   []string `json:"purged"`
}

func serviceCaller() Caller { return Caller{ObjectID: "service", Name: "service", admin: true} }

func routeNamed(name string) *route {
	for i := range routes {
		if routes[i].name == name {
			return &routes[i]
		}
	}
	panic("keyvault: no route " + name)
}

// Sweep runs one pass over every vault.
func (s *Service) Sweep(ctx context.Context) (SweepReport, error) {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	rep := SweepReport{Rotated: []string{}, Notified: []string{}, Purged: []string{}}
	for _, v := range s.Vaults() {
		type item struct {
			name string
			head headRecord
		}
		var items []item
		err := s.scanHeads(v.Name, "", func(_ *sse.Tx, _ string, h *headRecord) (bool, error) {
			if h.Deleted != nil || h.Policy != nil {
				items = append(items, item{h.Name, *h})
			}
			return true, nil
		})
		if err != nil {
			return rep, err
		}
		for _, it := range items {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			id := v.Name + "/" + it.name
			if it.head.Deleted != nil {
				if !s.now().Before(it.head.Deleted.PurgeDate) {
					o := s.serviceOp(v, it.name, "PurgeDeletedKey")
					o.version = it.head.latest()
					e := s.purge(v.Name, it.name, true)
					s.record(o, statusOf(e), e)
					if e == nil {
						rep.Purged = append(rep.Purged, id)
					}
				}
				continue
			}
			rotated, notified := s.applyPolicy(v, it.name, &it.head)
			if rotated {
				rep.Rotated = append(rep.Rotated, id)
			}
			if notified {
				rep.Notified = append(rep.Notified, id)
			}
		}
	}
	return rep, nil
}

func statusOf(e *Error) int {
	if e == nil {
		return http.StatusOK
	}
	return e.Status
}

func (s *Service) serviceOp(v Vault, key, routeName string) *op {
	return &op{ctx: context.Background(), route: routeNamed(routeName), caller: serviceCaller(),
		requestID: uuid.NewString(), client: "service", vault: v, base: s.VaultURL(v.Name), key: key}
}

// applyPolicy rotates and notifies as the key's policy says is due.
func (s *Service) applyPolicy(v Vault, name string, h *headRecord) (rotated, notified bool) {
	o := s.serviceOp(v, name, "RotateKey")
	_, cur, e := s.loadVersion(o, "")
	if e != nil {
		return false, false
	}
	now := s.now()
	for _, a := range h.Policy.Actions {
		if !a.due(cur.rec.Created, cur.rec.Expires, now) {
			continue
		}
		switch a.Type {
		case "Rotate":
			_, e := s.rotate(o, cur)
			s.record(o, statusOf(e), e)
			rotated = e == nil
		case "Notify":
			if h.Notified == cur.rec.Version {
				continue
			}
			if s.markNotified(v, name, cur.rec.Version) {
				s.audit.Record(audit.Event{RequestID: uuid.NewString(), Caller: "service", Vault: v.Name, Key: name,
					Version: cur.rec.Version, Operation: "KeyNearExpiry", Result: audit.Allowed, Client: "service"})
				notified = true
			}
		}
	}
	return rotated, notified
}

func (s *Service) markNotified(v Vault, name, version string) bool {
	kek, err := s.vaultKEK(v.Name)
	if err != nil {
		return false
	}
	err = s.db.Update(func(tx *sse.Tx) error {
		var h headRecord
		found, err := getJSON(tx, headKey(v.Name, name), &h)
		if err != nil || !found {
			return err
		}
		h.Notified = version
		return putJSON(tx, headKey(v.Name, name), &h, kek)
	})
	s.cache.drop(v.Name, name)
	return err == nil
}
