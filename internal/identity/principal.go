package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/sse"
)

// Kind says how a principal authenticates.
type Kind string

const (
	// ServicePrincipal authenticates with a client id and secret at the
	// token endpoint (ClientSecretCredential).
	ServicePrincipal Kind = "servicePrincipal"
	// ManagedIdentity authenticates with its secret as IDENTITY_HEADER at
	// the managed-identity endpoint (ManagedIdentityCredential).
	ManagedIdentity Kind = "managedIdentity"
)

// Principal is an identity that can obtain tokens.
type Principal struct {
	ObjectID string    `json:"objectId"`
	ClientID string    `json:"clientId"`
	Name     string    `json:"name"`
	Kind     Kind      `json:"kind"`
	Created  time.Time `json:"created"`
	// Verifiers of the current secret; never shown.
	Secrets []verifier `json:"secrets,omitempty"`
}

// verifier proves knowledge of a secret without holding it: a MAC, keyed by
// the installation's sealed hashing key, of a per-secret salt and the secret.
type verifier struct {
	Hint    string    `json:"hint"` // first characters, to tell secrets apart
	Salt    []byte    `json:"salt"`
	MAC     []byte    `json:"mac"`
	Created time.Time `json:"created"`
}

// Public is a principal without its verifiers.
func (p *Principal) Public() Principal {
	c := *p
	c.Secrets = nil
	return c
}

// ErrPrincipalNotFound is returned for an unknown principal.
var ErrPrincipalNotFound = errors.New("identity: no such principal")

func principalKey(oid string) []byte { return []byte(prefixPrinc + oid) }

func (s *Service) loadPrincipals() error {
	return s.db.View(func(tx *sse.Tx) error {
		return tx.Scan([]byte(prefixPrinc), nil, func(_, v []byte) error {
			var p Principal
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			s.byOID[p.ObjectID] = &p
			s.byClient[p.ClientID] = &p
			return nil
		})
	})
}

// newSecret returns a random secret (240 bits, base64url).
func newSecret() (string, error) {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *Service) mac(parts ...[]byte) []byte {
	h := hmac.New(sha256.New, s.pepper.Bytes())
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func (s *Service) newVerifier(secretText string) (verifier, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return verifier{}, err
	}
	return verifier{Hint: secretText[:3], Salt: salt, MAC: s.mac(salt, []byte(secretText)), Created: time.Now().UTC()}, nil
}

// miIndex is the lookup key of a managed identity's secret: the header
// alone must name the identity, so it is indexed by an unsalted keyed MAC.
func (s *Service) miIndex(secretText string) []byte {
	return []byte(prefixMIHash + hex.EncodeToString(s.mac([]byte("managed-identity\x00"), []byte(secretText))))
}

func validName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// CreatePrincipal adds a principal and returns it with its secret, which is
// not kept and cannot be shown again.
func (s *Service) CreatePrincipal(name string, kind Kind) (Principal, string, error) {
	if !validName(name) {
		return Principal{}, "", fmt.Errorf("principal name %q: use 1-64 letters, digits, '-', '_' or '.'", name)
	}
	if kind != ServicePrincipal && kind != ManagedIdentity {
		return Principal{}, "", fmt.Errorf("principal kind %q: want %s or %s", kind, ServicePrincipal, ManagedIdentity)
	}
	if _, err := s.Lookup(name); err == nil {
		return Principal{}, "", fmt.Errorf("a principal named %q already exists", name)
	}
	sec, err := newSecret()
	if err != nil {
		return Principal{}, "", err
	}
	v, err := s.newVerifier(sec)
	if err != nil {
		return Principal{}, "", err
	}
	p := &Principal{ObjectID: uuid.NewString(), ClientID: uuid.NewString(), Name: name, Kind: kind,
		Created: time.Now().UTC(), Secrets: []verifier{v}}
	rec, _ := json.Marshal(p)
	err = s.db.Update(func(tx *sse.Tx) error {
		if kind == ManagedIdentity {
			if err := tx.Put(s.miIndex(sec), []byte(p.ObjectID), s.kek); err != nil {
				return err
			}
		}
		return tx.Put(principalKey(p.ObjectID), rec, s.kek)
	})
	if err != nil {
		return Principal{}, "", err
	}
	s.mu.Lock()
	s.byOID[p.ObjectID] = p
	s.byClient[p.ClientID] = p
	s.mu.Unlock()
	return p.Public(), sec, nil
}

// ResetSecret replaces a principal's secret; the old one stops working at once.
func (s *Service) ResetSecret(ref string) (Principal, string, error) {
	p, err := s.Lookup(ref)
	if err != nil {
		return Principal{}, "", err
	}
	sec, err := newSecret()
	if err != nil {
		return Principal{}, "", err
	}
	v, err := s.newVerifier(sec)
	if err != nil {
		return Principal{}, "", err
	}
	next := p
	next.Secrets = []verifier{v}
	rec, _ := json.Marshal(&next)
	err = s.db.Update(func(tx *sse.Tx) error {
		if p.Kind == ManagedIdentity {
			if err := s.dropMIIndex(tx, p.ObjectID); err != nil {
				return err
			}
			if err := tx.Put(s.miIndex(sec), []byte(p.ObjectID), s.kek); err != nil {
				return err
			}
		}
		return tx.Put(principalKey(p.ObjectID), rec, s.kek)
	})
	if err != nil {
		return Principal{}, "", err
	}
	s.mu.Lock()
	s.byOID[p.ObjectID] = &next
	s.byClient[p.ClientID] = &next
	s.mu.Unlock()
	return next.Public(), sec, nil
}

// dropMIIndex removes the index entries pointing at oid.
func (s *Service) dropMIIndex(tx *sse.Tx, oid string) error {
	var stale [][]byte
	err := tx.Scan([]byte(prefixMIHash), nil, func(k, v []byte) error {
		if string(v) == oid {
			stale = append(stale, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range stale {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// DeletePrincipal removes a principal; its tokens stop verifying at once.
func (s *Service) DeletePrincipal(ref string) (Principal, error) {
	p, err := s.Lookup(ref)
	if err != nil {
		return Principal{}, err
	}
	err = s.db.Update(func(tx *sse.Tx) error {
		if err := s.dropMIIndex(tx, p.ObjectID); err != nil {
			return err
		}
		return tx.Delete(principalKey(p.ObjectID))
	})
	if err != nil {
		return Principal{}, err
	}
	s.mu.Lock()
	delete(s.byOID, p.ObjectID)
	delete(s.byClient, p.ClientID)
	s.mu.Unlock()
	return p.Public(), nil
}

// Lookup finds a principal by object id, client id or name.
func (s *Service) Lookup(ref string) (Principal, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p, ok := s.byOID[strings.ToLower(ref)]; ok {
		return *p, nil
	}
	if p, ok := s.byClient[strings.ToLower(ref)]; ok {
		return *p, nil
	}
	for _, p := range s.byOID {
		if strings.EqualFold(p.Name, ref) {
			return *p, nil
		}
	}
	return Principal{}, fmt.Errorf("%w: %q", ErrPrincipalNotFound, ref)
}

// Principals lists every principal, by name.
func (s *Service) Principals() []Principal {
	s.mu.RLock()
	out := make([]Principal, 0, len(s.byOID))
	for _, p := range s.byOID {
		out = append(out, p.Public())
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// checkClientSecret authenticates a service principal. The comparison is
// constant time; unknown clients and wrong secrets take the same path.
func (s *Service) checkClientSecret(clientID, secretText string) (*Principal, bool) {
	s.mu.RLock()
	p := s.byClient[strings.ToLower(clientID)]
	s.mu.RUnlock()
	if p == nil || p.Kind != ServicePrincipal {
		s.mac([]byte("0123456789abcdef"), []byte(secretText)) // same work as a real check
		return nil, false
	}
	ok := false
	for _, v := range p.Secrets {
		if hmac.Equal(s.mac(v.Salt, []byte(secretText)), v.MAC) {
			ok = true
		}
	}
	return p, ok
}

// checkManagedIdentity finds the managed identity whose secret is given.
func (s *Service) checkManagedIdentity(secretText string) (*Principal, bool) {
	var oid string
	err := s.db.View(func(tx *sse.Tx) error {
		b, err := tx.Get(s.miIndex(secretText))
		oid = string(b)
		return err
	})
	if err != nil {
		return nil, false
	}
	s.mu.RLock()
	p := s.byOID[oid]
	s.mu.RUnlock()
	if p == nil || p.Kind != ManagedIdentity {
		return nil, false
	}
	for _, v := range p.Secrets {
		if hmac.Equal(s.mac(v.Salt, []byte(secretText)), v.MAC) {
			return p, true
		}
	}
	return nil, false
}

// principalByOID returns the live principal for a token's oid.
func (s *Service) principalByOID(oid string) *Principal {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byOID[oid]
}
