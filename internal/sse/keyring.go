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

// hierarchy is one root key and the versioned KEKs it seals. Every sealed
// KEK is read into memory when the hierarchy opens (there are few: one per
// account, scope or owner and version) and added as it is made, so that
// resolving a key never opens a store transaction: keys are resolved inside
// other transactions, and a nested read transaction can deadlock with a
// writer that must remap the store. For the same reason no lock is held
// while a new KEK is written.
type hierarchy struct {
	src    Source
	prefix string // raw meta prefix of the sealed KEKs
	label  string // first part of the root's associated data
	root   cipher.AEAD
	meta   store.Meta

	rotMu   sync.Mutex         // one new version at a time
	mu      sync.Mutex         // the maps; never held across store calls
	sealed  map[string][]byte  // ref + "\x00" + version
	latest  map[string]uint32  // ref -> newest version stored
	byRef   map[string]*gcmKEK // unsealed, ref + "\x00" + version
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
	h := &hierarchy{src: src, prefix: prefix, label: label, root: a, meta: meta,
		sealed: map[string][]byte{}, latest: map[string]uint32{}, byRef: map[string]*gcmKEK{}, current: map[string]*gcmKEK{}}
	err = meta.View(func(tx store.Tx) error {
		return tx.Scan([]byte(prefix), nil, func(key, v []byte) error {
			rest := key[len(prefix):]
			if len(rest) < 5 || rest[len(rest)-5] != 0 {
				return nil
			}
			ref, ver := string(rest[:len(rest)-5]), binary.BigEndian.Uint32(rest[len(rest)-4:])
			h.sealed[ref+"\x00"+strconv.FormatUint(uint64(ver), 10)] = append([]byte(nil), v...)
			h.latest[ref] = max(h.latest[ref], ver)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("sse: load sealed KEKs: %w", err)
	}
	return h, nil
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
	kek, ok := h.current[ref]
	latest, stored := h.latest[ref]
	h.mu.Unlock()
	if ok {
		return kek, nil
	}
	if stored {
		kek, err := h.unseal(ref, latest)
		if err != nil {
			return nil, err
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.current[ref]; !ok { // a rotation may have set a newer one
			h.current[ref] = kek
		}
		return h.current[ref], nil
	}
	return h.rotateFrom(ref, 0)
}

func (h *hierarchy) rotate(ref string) (KEK, error) {
	cur, err := h.currentKEK(ref)
	if err != nil {
		return nil, err
	}
	v, _ := strconv.ParseUint(cur.Version(), 10, 32)
	return h.rotateFrom(ref, uint32(v))
}

// rotateFrom makes version prev+1 of ref, unless another caller already
// moved past prev, in which case the newest version is the answer.
func (h *hierarchy) rotateFrom(ref string, prev uint32) (*gcmKEK, error) {
	h.rotMu.Lock()
	defer h.rotMu.Unlock()
	h.mu.Lock()
	latest := h.latest[ref]
	h.mu.Unlock()
	if latest > prev {
		return h.unseal(ref, latest)
	}
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
	h.mu.Lock()
	h.sealed[ref+"\x00"+ver] = sealed
	h.latest[ref] = v
	h.byRef[ref+"\x00"+ver] = kek
	h.current[ref] = kek
	h.mu.Unlock()
	return kek, nil
}

// unseal opens version v of ref (once; then it is kept unsealed).
func (h *hierarchy) unseal(ref string, v uint32) (*gcmKEK, error) {
	ver := strconv.FormatUint(uint64(v), 10)
	h.mu.Lock()
	defer h.mu.Unlock()
	if kek, ok := h.byRef[ref+"\x00"+ver]; ok {
		return kek, nil
	}
	sealed, ok := h.sealed[ref+"\x00"+ver]
	if !ok {
		return nil, fmt.Errorf("%w: %s v%s", ErrKeyUnavailable, ref, ver)
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
	v, err := strconv.ParseUint(version, 10, 32)
	if err != nil || strconv.FormatUint(v, 10) != version {
		return nil, ErrKeyUnavailable
	}
	return h.unseal(ref, uint32(v))
}
