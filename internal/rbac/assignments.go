package rbac

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/sse"
)

// KEKRef is the service-managed KEK that seals role assignments.
const KEKRef = "rbac/assignments"

const prefixAssignment = "rbac\x00a\x00"

// Assignment grants a role to a principal at a scope.
type Assignment struct {
	ID          string    `json:"id"`
	PrincipalID string    `json:"principalId"` // object id
	RoleID      string    `json:"roleId"`
	RoleName    string    `json:"roleName"`
	Scope       string    `json:"scope"`
	Created     time.Time `json:"created"`
}

// Store keeps role assignments, sealed in the sse DB and mirrored in memory
// (every change goes through it, so the mirror is exact).
type Store struct {
	db  *sse.DB
	kek sse.KEK

	mu  sync.RWMutex
	all map[string]Assignment
}

// Open loads the assignments.
func Open(db *sse.DB, keys *sse.Keyring) (*Store, error) {
	kek, err := keys.ServiceKEK(KEKRef)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, kek: kek, all: map[string]Assignment{}}
	err = db.View(func(tx *sse.Tx) error {
		return tx.Scan([]byte(prefixAssignment), nil, func(_, v []byte) error {
			var a Assignment
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			s.all[a.ID] = a
			return nil
		})
	})
	return s, err
}

// VaultScope is the scope of a whole vault.
func VaultScope(vault string) string { return "/vaults/" + strings.ToLower(vault) }

// KeyScope is the scope of one key (all its versions).
func KeyScope(vault, key string) string { return VaultScope(vault) + "/keys/" + strings.ToLower(key) }

// ParseScope checks and normalizes a scope.
func ParseScope(scope string) (string, error) {
	scope = strings.ToLower(strings.TrimRight(scope, "/"))
	if scope == "" {
		return "/", nil
	}
	p := strings.Split(strings.TrimPrefix(scope, "/"), "/")
	vault := p[0] == "vaults" && (len(p) == 2 || len(p) == 4 && p[2] == "keys")
	if !strings.HasPrefix(scope, "/") || !(vault || parseStorageScope(p)) {
		return "", fmt.Errorf("scope %q: want /, /vaults/VAULT[/keys/KEY] or /storageaccounts/ACCOUNT[/containers|queues|tables/NAME]", scope)
	}
	for _, seg := range p {
		if seg == "" {
			return "", fmt.Errorf("scope %q has an empty segment", scope)
		}
	}
	return scope, nil
}

// covers reports whether an assignment at scope a applies to scope r.
func covers(a, r string) bool {
	return a == "/" || a == r || strings.HasPrefix(r, a+"/")
}

// Assign grants role to the principal at scope. Assigning the same role
// at the same scope twice returns the existing assignment.
func (s *Store) Assign(principalID, role, scope string) (Assignment, error) {
	r, ok := RoleByName(role)
	if !ok {
		return Assignment{}, fmt.Errorf("unknown role %q", role)
	}
	sc, err := ParseScope(scope)
	if err != nil {
		return Assignment{}, err
	}
	principalID = strings.ToLower(principalID)
	for _, a := range s.List(principalID, "") {
		if a.RoleID == r.ID && a.Scope == sc {
			return a, nil
		}
	}
	a := Assignment{ID: uuid.NewString(), PrincipalID: principalID, RoleID: r.ID, RoleName: r.Name, Scope: sc, Created: time.Now().UTC()}
	rec, _ := json.Marshal(a)
	if err := s.db.Update(func(tx *sse.Tx) error { return tx.Put([]byte(prefixAssignment+a.ID), rec, s.kek) }); err != nil {
		return Assignment{}, err
	}
	s.mu.Lock()
	s.all[a.ID] = a
	s.mu.Unlock()
	return a, nil
}

// ErrNotFound is returned for an unknown assignment.
var ErrNotFound = errors.New("rbac: no such role assignment")

// Remove deletes an assignment.
func (s *Store) Remove(id string) (Assignment, error) {
	s.mu.RLock()
	a, ok := s.all[strings.ToLower(id)]
	s.mu.RUnlock()
	if !ok {
		return Assignment{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err := s.db.Update(func(tx *sse.Tx) error { return tx.Delete([]byte(prefixAssignment + a.ID)) }); err != nil {
		return Assignment{}, err
	}
	s.mu.Lock()
	delete(s.all, a.ID)
	s.mu.Unlock()
	return a, nil
}

// RemovePrincipal deletes every assignment of a principal.
func (s *Store) RemovePrincipal(principalID string) (int, error) {
	n := 0
	for _, a := range s.List(principalID, "") {
		if _, err := s.Remove(a.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// List returns assignments, optionally only a principal's and only those
// whose scope equals scope; ordered by scope then role.
func (s *Store) List(principalID, scope string) []Assignment {
	s.mu.RLock()
	var out []Assignment
	for _, a := range s.all {
		if principalID != "" && !strings.EqualFold(a.PrincipalID, principalID) {
			continue
		}
		if scope != "" && !strings.EqualFold(a.Scope, scope) {
			continue
		}
		out = append(out, a)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Scope != out[j].Scope {
			return out[i].Scope < out[j].Scope
		}
		return out[i].RoleName < out[j].RoleName
	})
	return out
}

// Decision is the outcome of Check.
type Decision struct {
	Allowed    bool
	Role       string // the granting role, when allowed
	Assignment string // the granting assignment id, when allowed
}

// Check is the authorization decision: does any assignment of the principal
// at scope or above grant action?
func (s *Store) Check(principalID, action, scope string) Decision {
	scope = strings.ToLower(scope)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range s.all {
		if !strings.EqualFold(a.PrincipalID, principalID) || !covers(a.Scope, scope) {
			continue
		}
		r, ok := RoleByName(a.RoleID)
		if ok && r.Allows(action) {
			return Decision{Allowed: true, Role: r.Name, Assignment: a.ID}
		}
	}
	return Decision{}
}
