package sse

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/store"
)

// Keyring holds the installation root key and the service-managed KEKs it
// seals, one current version per reference; and, once an infrastructure
// root is set, the independent hierarchy of infrastructure KEKs. Sealed
// KEKs live in the raw meta store; only their root key opens them.
type Keyring struct {
	meta  store.Meta
	svc   *hierarchy
	infra *hierarchy // nil until SetInfrastructureRoot

	// hooks installed by the account layer (see keysource.go)
	hookMu    sync.RWMutex
	chooser   Chooser
	resolvers map[Source]Resolver
}

// hierarchy is one root key and the versioned KEKs it seals.
type hierarchy struct {
	src    Source
	prefix string // raw meta prefix of the sealed KEKs
	label  string // first part of the root's associated data
	root   cipher.AEAD
	meta   store.Meta

	mu      sync.Mutex
	byRef   map[string]*gcmKEK // ref + "\x00" + version
	current map[string]*gcmKEK // ref -> newest version
}

const (
	keyPrefix      = "k\x00svc\x00"
	infraKeyPrefix = "k\x00inf\x00"
)

func newHierarchy(src Source, prefix, label string, root secret.Key, meta store.Meta) (*hierarchy, error) {
	if root.Len() != 32 {
		return nil, errors.New("sse: root key must be 256 bits")
	}
	a, err := newGCM(root.Bytes())
	if err != nil {
		return nil, err
	}
	return &hierarchy{src: src, prefix: prefix, label: label, root: a, meta: meta,
		byRef: map[string]*gcmKEK{}, current: map[string]*gcmKEK{}}, nil
}

// NewKeyring opens the service-managed KEKs sealed in meta under root.
func NewKeyring(root secret.Key, meta store.Meta) (*Keyring, error) {
	h, err := newHierarchy(SourceService, keyPrefix, "atrest/kek/v1", root, meta)
	if err != nil {
		return nil, err
	}
	return &Keyring{meta: meta, svc: h}, nil
}

// SetInfrastructureRoot opens the infrastructure hierarchy: KEKs of the
// second encryption layer, sealed by their own root key, independent of
// the installation root key.
func (k *Keyring) SetInfrastructureRoot(root secret.Key) error {
	h, err := newHierarchy(SourceInfra, infraKeyPrefix, "atrest/infra-kek/v1", root, k.meta)
	if err != nil {
		return err
	}
	k.hookMu.Lock()
	k.infra = h
	k.hookMu.Unlock()
	return nil
}

// ServiceRef is the KEK reference of an account's service-managed key.
func ServiceRef(account string) string { return "account/" + account }

// InfraRef is the KEK reference of an account's infrastructure key.
func InfraRef(account string) string { return "infra/" + account }

// ServiceKEK returns the current service-managed KEK for ref, creating and
// sealing version 1 on first use.
func (k *Keyring) ServiceKEK(ref string) (KEK, error) { return k.svc.currentKEK(ref) }

// RotateService makes a new version of the service-managed KEK for ref.
// Objects wrapped under older versions stay readable.
func (k *Keyring) RotateService(ref string) (KEK, error) { return k.svc.rotate(ref) }

// InfraKEK returns the current infrastructure KEK for ref.
func (k *Keyring) InfraKEK(ref string) (KEK, error) {
	h, err := k.infraHierarchy()
	if err != nil {
		return nil, err
	}
	return h.currentKEK(ref)
}

func (k *Keyring) infraHierarchy() (*hierarchy, error) {
	k.hookMu.RLock()
	h := k.infra
	k.hookMu.RUnlock()
	if h == nil {
		return nil, fmt.Errorf("%w: no infrastructure root key is configured", ErrKeyUnavailable)
	}
	return h, nil
}

// Resolve finds a KEK by source, reference and version: service-managed
// and infrastructure keys here, other sources through the resolver
// installed for them.
func (k *Keyring) Resolve(src Source, ref, version string) (KEK, error) {
	switch src {
	case SourceService:
		return k.svc.resolve(ref, version)
	case SourceInfra:
		h, err := k.infraHierarchy()
		if err != nil {
			return nil, err
		}
		return h.resolve(ref, version)
	}
	k.hookMu.RLock()
	r := k.resolvers[src]
	k.hookMu.RUnlock()
	if r == nil {
		return nil, fmt.Errorf("%w: no resolver for %s keys", ErrKeyUnavailable, src)
	}
	return r.Resolve(src, ref, version)
}

func (h *hierarchy) kekKey(ref string, version uint32) []byte {
	k := append([]byte(h.prefix), ref...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, version)
}

func (h *hierarchy) rootAAD(ref, version string) []byte {
	return []byte(h.label + "\x00" + ref + "\x00" + version)
}

func (h *hierarchy) currentKEK(ref string) (KEK, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if kek, ok := h.current[ref]; ok {
		return kek, nil
	}
	var latest uint32
	var sealed []byte
	err := h.meta.View(func(tx store.Tx) error {
		p := append([]byte(h.prefix), ref...)
		p = append(p, 0)
		return tx.Scan(p, nil, func(key, v []byte) error {
			if len(key) == len(p)+4 {
				latest = binary.BigEndian.Uint32(key[len(p):])
				sealed = append(sealed[:0], v...)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if sealed == nil {
		return h.rotateLocked(ref, 0)
	}
	kek, err := h.unseal(ref, latest, sealed)
	if err != nil {
		return nil, err
	}
	h.current[ref] = kek
	return kek, nil
}

func (h *hierarchy) rotate(ref string) (KEK, error) {
	cur, err := h.currentKEK(ref)
	if err != nil {
		return nil, err
	}
	v, _ := strconv.ParseUint(cur.Version(), 10, 32)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rotateLocked(ref, uint32(v))
}

func (h *hierarchy) rotateLocked(ref string, prev uint32) (*gcmKEK, error) {
	key, err := secret.Random(32)
	if err != nil {
		return nil, err
	}
	defer key.Wipe()
	v := prev + 1
	ver := strconv.FormatUint(uint64(v), 10)
	nonce := make([]byte, 12, 12+32+tagSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	sealed := h.root.Seal(nonce, nonce, key.Bytes(), h.rootAAD(ref, ver))
	if err := h.meta.Update(func(tx store.Tx) error {
		if _, err := tx.Get(h.kekKey(ref, v)); err == nil {
			return errors.New("sse: KEK version already exists")
		}
		return tx.Put(h.kekKey(ref, v), sealed)
	}); err != nil {
		return nil, fmt.Errorf("sse: store KEK: %w", err)
	}
	kek, err := newGCMKEK(h.src, ref, ver, key)
	if err != nil {
		return nil, err
	}
	h.byRef[ref+"\x00"+ver] = kek
	h.current[ref] = kek
	return kek, nil
}

func (h *hierarchy) unseal(ref string, v uint32, sealed []byte) (*gcmKEK, error) {
	ver := strconv.FormatUint(uint64(v), 10)
	if kek, ok := h.byRef[ref+"\x00"+ver]; ok {
		return kek, nil
	}
	if len(sealed) < 12+tagSize {
		return nil, ErrAuth
	}
	raw, err := h.root.Open(nil, sealed[:12], sealed[12:], h.rootAAD(ref, ver))
	if err != nil {
		return nil, fmt.Errorf("sse: KEK %s v%s does not open under its root key: %w", ref, ver, ErrAuth)
	}
	kek, err := newGCMKEK(h.src, ref, ver, secret.New(raw))
	clear(raw)
	if err != nil {
		return nil, err
	}
	h.byRef[ref+"\x00"+ver] = kek
	return kek, nil
}

func (h *hierarchy) resolve(ref, version string) (KEK, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if kek, ok := h.byRef[ref+"\x00"+version]; ok {
		return kek, nil
	}
	v, err := strconv.ParseUint(version, 10, 32)
	if err != nil {
		return nil, ErrKeyUnavailable
	}
	var sealed []byte
	err = h.meta.View(func(tx store.Tx) error {
		b, err := tx.Get(h.kekKey(ref, uint32(v)))
		sealed = append([]byte(nil), b...)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s v%s", ErrKeyUnavailable, ref, version)
	}
	if err != nil {
		return nil, err
	}
	return h.unseal(ref, uint32(v), sealed)
}
