package sse

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/store"
)

// KEK wraps and unwraps data keys. Implementations: the service-managed key
// here; customer-managed, customer-provided and HSM keys elsewhere.
type KEK interface {
	Source() Source
	Ref() string
	Version() string
	Wrap(dek secret.Key, aad []byte) ([]byte, error)
	Unwrap(wrapped, aad []byte) (secret.Key, error)
}

// Resolver finds the KEK a header names.
type Resolver interface {
	Resolve(src Source, ref, version string) (KEK, error)
}

// gcmKEK wraps DEKs with AES-256-GCM under a 256-bit key.
type gcmKEK struct {
	src          Source
	ref, version string
	aead         cipher.AEAD
}

func newGCMKEK(src Source, ref, version string, key secret.Key) (*gcmKEK, error) {
	if key.Len() != 32 {
		return nil, errors.New("sse: KEK must be 256 bits")
	}
	a, err := newGCM(key.Bytes())
	if err != nil {
		return nil, err
	}
	return &gcmKEK{src: src, ref: ref, version: version, aead: a}, nil
}

func (k *gcmKEK) Source() Source  { return k.src }
func (k *gcmKEK) Ref() string     { return k.ref }
func (k *gcmKEK) Version() string { return k.version }

func (k *gcmKEK) Wrap(dek secret.Key, aad []byte) ([]byte, error) {
	nonce := make([]byte, 12, 12+dek.Len()+tagSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.aead.Seal(nonce, nonce, dek.Bytes(), aad), nil
}

func (k *gcmKEK) Unwrap(w, aad []byte) (secret.Key, error) {
	if len(w) != 12+32+tagSize {
		return secret.Key{}, ErrAuth
	}
	dek, err := k.aead.Open(nil, w[:12], w[12:], aad)
	if err != nil {
		return secret.Key{}, ErrAuth
	}
	return secret.New(dek), nil
}

// Keyring holds the installation root key and the service-managed KEKs it
// seals, one current version per account. Sealed KEKs live in the raw meta
// store under keyPrefix; only the root key opens them.
type Keyring struct {
	root cipher.AEAD
	meta store.Meta

	mu      sync.Mutex
	byRef   map[string]*gcmKEK // ref + "\x00" + version
	current map[string]*gcmKEK // ref -> newest version
}

const keyPrefix = "k\x00svc\x00"

// NewKeyring opens the service-managed KEKs sealed in meta under root.
func NewKeyring(root secret.Key, meta store.Meta) (*Keyring, error) {
	if root.Len() != 32 {
		return nil, errors.New("sse: root key must be 256 bits")
	}
	a, err := newGCM(root.Bytes())
	if err != nil {
		return nil, err
	}
	return &Keyring{root: a, meta: meta, byRef: map[string]*gcmKEK{}, current: map[string]*gcmKEK{}}, nil
}

// ServiceRef is the KEK reference of an account's service-managed key.
func ServiceRef(account string) string { return "account/" + account }

func kekKey(ref string, version uint32) []byte {
	k := append([]byte(keyPrefix), ref...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, version)
}

func rootAAD(ref, version string) []byte {
	return []byte("atrest/kek/v1\x00" + ref + "\x00" + version)
}

// ServiceKEK returns the current service-managed KEK for ref, creating and
// sealing version 1 on first use.
func (k *Keyring) ServiceKEK(ref string) (KEK, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if kek, ok := k.current[ref]; ok {
		return kek, nil
	}
	var latest uint32
	var sealed []byte
	err := k.meta.View(func(tx store.Tx) error {
		p := append([]byte(keyPrefix), ref...)
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
		return k.rotateLocked(ref, 0)
	}
	kek, err := k.unseal(ref, latest, sealed)
	if err != nil {
		return nil, err
	}
	k.current[ref] = kek
	return kek, nil
}

// RotateService makes a new version of the service-managed KEK for ref.
// Objects wrapped under older versions stay readable.
func (k *Keyring) RotateService(ref string) (KEK, error) {
	cur, err := k.ServiceKEK(ref)
	if err != nil {
		return nil, err
	}
	v, _ := strconv.ParseUint(cur.Version(), 10, 32)
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rotateLocked(ref, uint32(v))
}

func (k *Keyring) rotateLocked(ref string, prev uint32) (*gcmKEK, error) {
	key, err := secret.Random(32)
	if err != nil {
		return nil, err
	}
	v := prev + 1
	ver := strconv.FormatUint(uint64(v), 10)
	nonce := make([]byte, 12, 12+32+tagSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	sealed := k.root.Seal(nonce, nonce, key.Bytes(), rootAAD(ref, ver))
	if err := k.meta.Update(func(tx store.Tx) error {
		if _, err := tx.Get(kekKey(ref, v)); err == nil {
			return errors.New("sse: KEK version already exists")
		}
		return tx.Put(kekKey(ref, v), sealed)
	}); err != nil {
		return nil, fmt.Errorf("sse: store KEK: %w", err)
	}
	kek, err := newGCMKEK(SourceService, ref, ver, key)
	if err != nil {
		return nil, err
	}
	k.byRef[ref+"\x00"+ver] = kek
	k.current[ref] = kek
	return kek, nil
}

func (k *Keyring) unseal(ref string, v uint32, sealed []byte) (*gcmKEK, error) {
	ver := strconv.FormatUint(uint64(v), 10)
	if kek, ok := k.byRef[ref+"\x00"+ver]; ok {
		return kek, nil
	}
	if len(sealed) < 12+tagSize {
		return nil, ErrAuth
	}
	raw, err := k.root.Open(nil, sealed[:12], sealed[12:], rootAAD(ref, ver))
	if err != nil {
		return nil, fmt.Errorf("sse: KEK %s v%s does not open under this root key: %w", ref, ver, ErrAuth)
	}
	kek, err := newGCMKEK(SourceService, ref, ver, secret.New(raw))
	clear(raw)
	if err != nil {
		return nil, err
	}
	k.byRef[ref+"\x00"+ver] = kek
	return kek, nil
}

// Resolve finds a service-managed KEK by reference and version.
func (k *Keyring) Resolve(src Source, ref, version string) (KEK, error) {
	if src != SourceService {
		return nil, fmt.Errorf("%w: no resolver for %s keys", ErrKeyUnavailable, src)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if kek, ok := k.byRef[ref+"\x00"+version]; ok {
		return kek, nil
	}
	v, err := strconv.ParseUint(version, 10, 32)
	if err != nil {
		return nil, ErrKeyUnavailable
	}
	var sealed []byte
	err = k.meta.View(func(tx store.Tx) error {
		b, err := tx.Get(kekKey(ref, uint32(v)))
		sealed = append([]byte(nil), b...)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s v%s", ErrKeyUnavailable, ref, version)
	}
	if err != nil {
		return nil, err
	}
	return k.unseal(ref, uint32(v), sealed)
}

// CustomerKEK wraps DEKs under a key the client sends with each request
// (customer-provided keys). The key itself is never stored: headers name it
// by the base64 SHA-256 that Azure also returns, which is all a later request
// is checked against.
func CustomerKEK(key secret.Key) (KEK, error) {
	if key.Len() != 32 {
		return nil, errors.New("sse: a customer-provided key must be 256 bits")
	}
	return newGCMKEK(SourceCustomer, "customer", CustomerKeyHash(key), key)
}

// CustomerKeyHash is the base64 SHA-256 of a customer-provided key.
func CustomerKeyHash(key secret.Key) string {
	sum := sha256.Sum256(key.Bytes())
	return base64.StdEncoding.EncodeToString(sum[:])
}

// WithKEKs resolves the given KEKs first (e.g. a customer-provided key from
// the current request), then falls back to res.
func WithKEKs(res Resolver, keks ...KEK) Resolver {
	var some []KEK
	for _, k := range keks {
		if k != nil {
			some = append(some, k)
		}
	}
	if len(some) == 0 {
		return res
	}
	return extraKEKs{res, some}
}

type extraKEKs struct {
	res  Resolver
	keks []KEK
}

func (e extraKEKs) Resolve(src Source, ref, version string) (KEK, error) {
	for _, k := range e.keks {
		if k.Source() == src && k.Ref() == ref && k.Version() == version {
			return k, nil
		}
	}
	return e.res.Resolve(src, ref, version)
}
