package keyvault

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	"maps"
	"net/http"
	"time"

	"github.com/atrest/atrest/internal/sse"
)

// Key lifecycle: create, import, get, update, list, rotate. Every write is
// one transaction that reads the key's head and writes it back with the
// change, so concurrent writers to one key serialize in the store.

func newVersionID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (o *op) kid(name, version string) string {
	if version == "" {
		return o.base + "/keys/" + name
	}
	return o.base + "/keys/" + name + "/" + version
}

func unix(t time.Time) *int64 { u := t.Unix(); return &u }

func (s *Service) attributes(v Vault, r *versionRecord) attributesJSON {
	days := v.RetentionDays
	f := false
	a := attributesJSON{Enabled: &r.Enabled, Created: unix(r.Created), Updated: unix(r.Updated),
		RecoveryLevel: v.recoveryLevel(), RecoverableDays: &days, Exportable: &f}
	if r.NotBefore != nil {
		a.NotBefore = unix(*r.NotBefore)
	}
	if r.Expires != nil {
		a.Expires = unix(*r.Expires)
	}
	return a
}

func (s *Service) bundle(o *op, h *headRecord, k *keyVersion) keyBundle {
	return keyBundle{Key: k.public(o.kid(h.Name, k.rec.Version)), Attributes: s.attributes(o.vault, &k.rec), Tags: k.rec.Tags}
}

// loadHead reads a key's head; deleted keys are reported as missing unless
// wantDeleted.
func (s *Service) loadHead(o *op, wantDeleted bool) (*headRecord, *Error) {
	h := s.cache.head(o.vault.Name, o.key)
	if h == nil {
		epoch := s.cache.now()
		var rec headRecord
		var found bool
		err := s.db.View(func(tx *sse.Tx) error {
			var err error
			found, err = getJSON(tx, headKey(o.vault.Name, o.key), &rec)
			return err
		})
		if err != nil {
			s.log.Error("key head does not open", "request", o.requestID, "err", err)
			return nil, errInternal
		}
		if !found {
			if wantDeleted {
				return nil, deletedKeyNotFound(o.key)
			}
			return nil, keyNotFound(o.key)
		}
		h = &rec
		s.cache.putHead(o.vault.Name, o.key, h, epoch)
	}
	if (h.Deleted != nil) != wantDeleted {
		if wantDeleted {
			return nil, deletedKeyNotFound(o.key)
		}
		return nil, keyNotFound(o.key)
	}
	return h, nil
}

// loadVersion opens one version ("" = latest) of a live key.
func (s *Service) loadVersion(o *op, version string) (*headRecord, *keyVersion, *Error) {
	h, e := s.loadHead(o, false)
	if e != nil {
		return nil, nil, e
	}
	if version == "" {
		version = h.latest()
	}
	o.version = version
	if k := s.cache.version(o.vault.Name, o.key, version); k != nil {
		return h, k, nil
	}
	epoch := s.cache.now()
	var rec versionRecord
	var found bool
	err := s.db.View(func(tx *sse.Tx) error {
		var err error
		found, err = getJSON(tx, versionKey(o.vault.Name, o.key, version), &rec)
		return err
	})
	if err != nil {
		s.log.Error("key version does not open", "request", o.requestID, "err", err)
		return nil, nil, errInternal
	}
	if !found {
		return nil, nil, errorf(http.StatusNotFound, "KeyNotFound", "A key with (name/id) %s/%s was not found in this key vault.", o.key, version)
	}
	k, err := openVersion(rec)
	if err != nil {
		s.log.Error("stored key does not parse", "request", o.requestID, "err", err)
		return nil, nil, errInternal
	}
	s.cache.putVersion(o.vault.Name, o.key, k, epoch)
	return h, k, nil
}

// checkTags applies Key Vault's limits.
func checkTags(t map[string]string) *Error {
	if len(t) > 15 {
		return badParameter("A key has at most 15 tags.")
	}
	for k, v := range t {
		if k == "" || len(k) > 512 || len(v) > 256 {
			return badParameter("Tag names are 1-512 characters and values at most 256.")
		}
	}
	return nil
}

// applyAttributes sets the writable attributes (enabled, nbf, exp).
func applyAttributes(r *versionRecord, a *attributesJSON) *Error {
	if a == nil {
		return nil
	}
	if a.Exportable != nil && *a.Exportable {
		return badParameter("Exportable keys need a release policy, which this server does not support.")
	}
	if a.Enabled != nil {
		r.Enabled = *a.Enabled
	}
	if a.NotBefore != nil {
		t := time.Unix(*a.NotBefore, 0).UTC()
		r.NotBefore = &t
	}
	if a.Expires != nil {
		t := time.Unix(*a.Expires, 0).UTC()
		r.Expires = &t
	}
	if r.NotBefore != nil && r.Expires != nil && !r.Expires.After(*r.NotBefore) {
		return badParameter("The expiry time must be after the not-before time.")
	}
	return nil
}

// addVersion seals k as the newest version of o.key, creating the key if
// needed. It refuses a name held by a deleted key.
func (s *Service) addVersion(o *op, k *keyVersion, policy *policyRecord) (*headRecord, *Error) {
	material, err := k.marshalMaterial()
	if err != nil {
		return nil, errInternal
	}
	defer clear(material)
	rec := k.rec
	rec.Material = material
	kek, err := s.vaultKEK(o.vault.Name)
	if err != nil {
		return nil, errInternal
	}
	var head headRecord
	var e *Error
	err = s.db.Update(func(tx *sse.Tx) error {
		e = nil
		head = headRecord{}
		found, err := getJSON(tx, headKey(o.vault.Name, o.key), &head)
		if err != nil {
			return err
		}
		if found && head.Deleted != nil {
			e = conflict("Key %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.", o.key)
			return nil
		}
		if !found {
			head = headRecord{Name: o.key}
		}
		if policy != nil {
			head.Policy = policy
		}
		if head.Policy != nil && rec.Expires == nil {
			rec.Expires = head.Policy.expiryFor(rec.Created)
		}
		head.Versions = append(head.Versions, rec.Version)
		if err := putJSON(tx, versionKey(o.vault.Name, o.key, rec.Version), &rec, kek); err != nil {
			return err
		}
		return putJSON(tx, headKey(o.vault.Name, o.key), &head, kek)
	})
	s.cache.drop(o.vault.Name, o.key)
	if err != nil {
		s.log.Error("key write failed", "request", o.requestID, "err", err)
		return nil, errInternal
	}
	if e != nil {
		return nil, e
	}
	k.rec.Expires = rec.Expires
	o.version = rec.Version
	return &head, nil
}

func decode(body []byte, v any) *Error {
	if len(body) == 0 {
		return badParameter("The request body is empty.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badParameter("The request body is not valid: %v.", err)
	}
	return nil
}

func (s *Service) createKey(o *op, body []byte) (any, error) {
	var p createParams
	if e := decode(body, &p); e != nil {
		return nil, e
	}
	if len(p.ReleasePolicy) > 0 && string(p.ReleasePolicy) != "null" {
		return nil, badParameter("Release policies are not supported by this server.")
	}
	kty, e := normKty(p.Kty)
	if e != nil {
		return nil, e
	}
	o.alg = kty
	ops, e := checkOps(kty, p.KeyOps)
	if e != nil {
		return nil, e
	}
	if e := checkTags(p.Tags); e != nil {
		return nil, e
	}
	k, e := generate(kty, p.KeySize, p.PublicExponent, p.Curve)
	if e != nil {
		return nil, e
	}
	return s.storeNew(o, k, ops, p.Attributes, p.Tags)
}

// storeNew finishes a generated or imported key and stores it.
func (s *Service) storeNew(o *op, k *keyVersion, ops []string, attrs *attributesJSON, tags map[string]string) (any, error) {
	now := s.now()
	k.rec.Version, k.rec.Ops, k.rec.Enabled, k.rec.Created, k.rec.Updated = newVersionID(), ops, true, now, now
	k.rec.Tags = tags
	if e := applyAttributes(&k.rec, attrs); e != nil {
		return nil, e
	}
	h, e := s.addVersion(o, k, nil)
	if e != nil {
		return nil, e
	}
	return s.bundle(o, h, k), nil
}

func (s *Service) getKey(o *op, _ []byte) (any, error) {
	h, k, e := s.loadVersion(o, o.version)
	if e != nil {
		return nil, e
	}
	return s.bundle(o, h, k), nil
}

func (s *Service) updateKey(o *op, body []byte) (any, error) {
	var p updateParams
	if e := decode(body, &p); e != nil {
		return nil, e
	}
	if len(p.ReleasePolicy) > 0 && string(p.ReleasePolicy) != "null" {
		return nil, badParameter("Release policies are not supported by this server.")
	}
	if e := checkTags(p.Tags); e != nil {
		return nil, e
	}
	h, k, e := s.loadVersion(o, o.version)
	if e != nil {
		return nil, e
	}
	kek, err := s.vaultKEK(o.vault.Name)
	if err != nil {
		return nil, err
	}
	var out versionRecord
	err = s.db.Update(func(tx *sse.Tx) error {
		e = nil
		var rec versionRecord
		found, err := getJSON(tx, versionKey(o.vault.Name, o.key, k.rec.Version), &rec)
		if err != nil {
			return err
		}
		if !found {
			e = keyNotFound(o.key)
			return nil
		}
		defer clear(rec.Material)
		if p.KeyOps != nil {
			ops, oe := checkOps(rec.Kty, p.KeyOps)
			if oe != nil {
				e = oe
				return nil
			}
			rec.Ops = ops
		}
		if ae := applyAttributes(&rec, p.Attributes); ae != nil {
			e = ae
			return nil
		}
		if p.Tags != nil {
			rec.Tags = p.Tags
		}
		rec.Updated = s.now()
		out = rec
		out.Material = nil
		return putJSON(tx, versionKey(o.vault.Name, o.key, rec.Version), &rec, kek)
	})
	s.cache.drop(o.vault.Name, o.key)
	if err != nil {
		return nil, err
	}
	if e != nil {
		return nil, e
	}
	updated := *k
	updated.rec = out
	return s.bundle(o, h, &updated), nil
}

// rotateKey makes a new version with the latest version's type, size,
// operations and tags, and the expiry the rotation policy prescribes.
func (s *Service) rotateKey(o *op, _ []byte) (any, error) {
	_, cur, e := s.loadVersion(o, "")
	if e != nil {
		return nil, e
	}
	k, e := s.rotate(o, cur)
	if e != nil {
		return nil, e
	}
	return k, nil
}

func (s *Service) rotate(o *op, cur *keyVersion) (keyBundle, *Error) {
	if baseType(cur.rec.Kty) == "RSA" && len(cur.rec.Ops) == 1 && cur.rec.Ops[0] == "import" {
		return keyBundle{}, badParameter("Key exchange keys (key_ops [import]) cannot be rotated.")
	}
	k, e := generate(cur.rec.Kty, cur.rec.Size, 0, cur.rec.Curve)
	if e != nil {
		return keyBundle{}, e
	}
	now := s.now()
	k.rec.Version, k.rec.Ops, k.rec.Enabled, k.rec.Created, k.rec.Updated = newVersionID(), cur.rec.Ops, true, now, now
	k.rec.Tags = maps.Clone(cur.rec.Tags)
	o.alg = cur.rec.Kty
	h, e := s.addVersion(o, k, nil)
	if e != nil {
		return keyBundle{}, e
	}
	return s.bundle(o, h, k), nil
}

func (s *Service) getPolicy(o *op, _ []byte) (any, error) {
	h, e := s.loadHead(o, false)
	if e != nil {
		return nil, e
	}
	pol := h.Policy
	if pol == nil {
		pol = &defaultPolicy
	}
	return pol.wire(o.kid(h.Name, "") + "/rotationpolicy"), nil
}

func (s *Service) setPolicy(o *op, body []byte) (any, error) {
	pol, e := parsePolicy(body)
	if e != nil {
		return nil, e
	}
	kek, err := s.vaultKEK(o.vault.Name)
	if err != nil {
		return nil, err
	}
	var head headRecord
	err = s.db.Update(func(tx *sse.Tx) error {
		e = nil
		head = headRecord{}
		found, err := getJSON(tx, headKey(o.vault.Name, o.key), &head)
		if err != nil {
			return err
		}
		if !found || head.Deleted != nil {
			e = keyNotFound(o.key)
			return nil
		}
		now := s.now()
		pol.Created, pol.Updated = now, now
		if head.Policy != nil {
			pol.Created = head.Policy.Created
		}
		head.Policy = pol
		return putJSON(tx, headKey(o.vault.Name, o.key), &head, kek)
	})
	s.cache.drop(o.vault.Name, o.key)
	if err != nil {
		return nil, err
	}
	if e != nil {
		return nil, e
	}
	return pol.wire(o.kid(head.Name, "") + "/rotationpolicy"), nil
}

func (s *Service) randomBytes(o *op, body []byte) (any, error) {
	var p randomParams
	if e := decode(body, &p); e != nil {
		return nil, e
	}
	if p.Count < 1 || p.Count > 128 {
		return nil, badParameter("count must be 1 to 128.")
	}
	b := make([]byte, p.Count)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return randomResult{Value: b}, nil
}
