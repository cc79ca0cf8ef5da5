package blob

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// User delegation keys are derived, not stored: an account has one secret
// (sealed like any record), and a key is the HMAC of its fields under it.
// A SAS signed with a key is checked by deriving the key again, so expiry
// is all the revocation a key needs, as in Azure.

func udkSecretKey(acct string) []byte { return []byte("x\x00udk\x00" + acct) }

type udkSecrets struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *Service) udkSecret(acct string) ([]byte, error) {
	s.udk.mu.Lock()
	defer s.udk.mu.Unlock()
	if v, ok := s.udk.m[acct]; ok {
		return v, nil
	}
	kek, err := s.kek(acct)
	if err != nil {
		return nil, err
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var secret []byte
	err = s.db.Update(func(tx *sse.Tx) error {
		v, err := tx.Get(udkSecretKey(acct))
		if err == nil {
			secret = append([]byte(nil), v...)
			return nil
		}
		if !errors.Is(err, sse.ErrNotFound) {
			return err
		}
		secret = fresh
		return tx.Put(udkSecretKey(acct), fresh, kek)
	})
	if err != nil {
		return nil, err
	}
	if s.udk.m == nil {
		s.udk.m = map[string][]byte{}
	}
	s.udk.m[acct] = secret
	return secret, nil
}

// UserDelegationKey derives the key value for the given fields.
func (s *Service) UserDelegationKey(acct, oid, tid, start, expiry, service, version string) ([]byte, error) {
	secret, err := s.udkSecret(acct)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strings.Join([]string{"atrest/udk/v1", acct, oid, tid, start, expiry, service, version}, "\x00")))
	return m.Sum(nil), nil
}

type keyInfo struct {
	Start  string `xml:"Start"`
	Expiry string `xml:"Expiry"`
}

type userDelegationKeyXML struct {
	XMLName xml.Name `xml:"UserDelegationKey"`
	OID     string   `xml:"SignedOid"`
	TID     string   `xml:"SignedTid"`
	Start   string   `xml:"SignedStart"`
	Expiry  string   `xml:"SignedExpiry"`
	Service string   `xml:"SignedService"`
	Version string   `xml:"SignedVersion"`
	Value   string   `xml:"Value"`
}

const udkTime = "2006-01-02T15:04:05Z"

// getUserDelegationKey answers a principal authenticated by a bearer token
// (the role check happened at the edge) with a key valid up to seven days.
func (s *Service) getUserDelegationKey(w http.ResponseWriter, r *edge.Request) error {
	if r.Principal == "" {
		return edge.ErrAuthenticationFailed.With("Only a bearer token may request a user delegation key.")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	var ki keyInfo
	if xml.Unmarshal(body, &ki) != nil || ki.Expiry == "" {
		return edge.ErrInvalidXML
	}
	now := time.Now().UTC()
	start := now
	if ki.Start != "" {
		if start, err = time.Parse(time.RFC3339, ki.Start); err != nil {
			return edge.ErrInvalidXML.With("Start is not a valid time.")
		}
	}
	expiry, err := time.Parse(time.RFC3339, ki.Expiry)
	if err != nil {
		return edge.ErrInvalidXML.With("Expiry is not a valid time.")
	}
	if !expiry.After(start) || expiry.Before(now) || expiry.After(now.Add(7*24*time.Hour+time.Minute)) {
		return edge.ErrInvalidInput.With("The expiry must be after the start, in the future, and at most seven days away.")
	}
	k := userDelegationKeyXML{OID: r.Principal, TID: r.Tenant, Start: start.UTC().Format(udkTime),
		Expiry: expiry.UTC().Format(udkTime), Service: "b", Version: r.Version}
	v, err := s.UserDelegationKey(r.Account.Name, k.OID, k.TID, k.Start, k.Expiry, k.Service, k.Version)
	if err != nil {
		return err
	}
	k.Value = base64.StdEncoding.EncodeToString(v)
	return writeXML(w, http.StatusOK, k)
}
