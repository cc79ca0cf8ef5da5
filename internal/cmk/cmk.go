// Package cmk holds customer-managed keys for storage: each owner (an
// account, or one of its encryption scopes) has an intermediate key, a
// random 256-bit AES key that wraps the owner's data keys locally, and is
// itself stored only wrapped by the customer's key in the Key Vault. The
// wrap and unwrap of the intermediate key are Key Vault operations made as
// the account's managed identity, with a token from the built-in issuer,
// through the vault's in-process API: the same access check and audit as
// any client's call. Revoking the key or the identity's role therefore
// revokes the data.
//
// An unwrapped intermediate key is kept in memory for CacheTTL, the bound
// on how long a revocation takes to bite. A new key version re-wraps the
// intermediate key (one vault call); it never touches data keys or
// content. Most callers need two calls:
//
//	m := cmk.New(cmk.Deps{...}, cmk.Options{CacheTTL: 5 * time.Minute})
//	kek, err := m.KEK("account/acct", principalOID, key) // seals new data
//
// and install m as the keyring's resolver for sse.SourceVault, so that
// objects naming (owner, generation) open again.
package cmk

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/atrest/atrest/internal/account"
	"github.com/atrest/atrest/internal/identity"
	"github.com/atrest/atrest/internal/keyvault"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
)

// Options tune the manager.
type Options struct {
	// CacheTTL is how long an unwrapped intermediate key is used before
	// the vault is asked again: the revocation window. Default 5 minutes.
	CacheTTL time.Duration
	// FollowEvery is how often versionless keys are checked for a newer
	// version. Default one hour.
	FollowEvery time.Duration
	Log         *slog.Logger
}

// Deps are the parts the manager calls.
type Deps struct {
	DB       *sse.DB
	Keys     *sse.Keyring
	KV       *keyvault.Service
	Identity *identity.Service
	// HSM wraps intermediate keys on PKCS#11 tokens (optional).
	HSM Wrapper
}

// Wrapper is an external key holder other than the Key Vault: a PKCS#11
// token. Errors that mean the key is out of reach are *sse.KeyError.
type Wrapper interface {
	Wrap(k account.KeyVaultKey, ik []byte) (wrapped []byte, version string, err error)
	Unwrap(k account.KeyVaultKey, version string, wrapped []byte) ([]byte, error)
}

// KEKRef seals the intermediate-key records (which hold only wrapped keys).
const KEKRef = "cmk/intermediate"

const prefixIK = "cmk\x00ik\x00"

// ikRecord is an intermediate key as stored: wrapped by the customer's key.
type ikRecord struct {
	Owner     string              `json:"owner"`
	Gen       uint32              `json:"gen"`
	Principal string              `json:"principal"`
	Key       account.KeyVaultKey `json:"key"`       // as configured; Version "" follows the newest
	WrappedBy string              `json:"wrappedBy"` // the key version that wrapped it
	Alg       string              `json:"alg"`
	Wrapped   []byte              `json:"wrapped"`
	Updated   time.Time           `json:"updated"`
}

func ikKey(owner string, gen uint32) []byte {
	k := append([]byte(prefixIK), owner...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, gen)
}

// Manager holds the owners' intermediate keys.
type Manager struct {
	d    Deps
	opt  Options
	kek  sse.KEK
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	cache map[string]cached // owner \0 gen
	gen   map[string]uint32 // owner -> current generation, once read
	opMu  sync.Mutex        // one change of an owner's record at a time

	// the intermediate-key records, read at start and kept with every
	// write: keys are resolved inside other store transactions, which
	// must not open nested ones
	recMu sync.RWMutex
	recs  map[string]map[uint32]ikRecord // owner -> generation -> record
}

// cached is an unwrapped intermediate key; within its lifetime requests
// use it without reading the record again (the record's changes go
// through store, which keeps gen current).
type cached struct {
	kek     sse.KEK
	src     sse.Source
	expires time.Time
}

// New makes a manager and starts following versionless keys.
func New(d Deps, opt Options) (*Manager, error) {
	if opt.CacheTTL <= 0 {
		opt.CacheTTL = 5 * time.Minute
	}
	if opt.FollowEvery <= 0 {
		opt.FollowEvery = time.Hour
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	kek, err := d.Keys.ServiceKEK(KEKRef)
	if err != nil {
		return nil, err
	}
	m := &Manager{d: d, opt: opt, kek: kek, cache: map[string]cached{}, gen: map[string]uint32{}, recs: map[string]map[uint32]ikRecord{},
		stop: make(chan struct{}), done: make(chan struct{})}
	err = d.DB.View(func(tx *sse.Tx) error {
		return tx.Scan([]byte(prefixIK), nil, func(_, v []byte) error {
			var r ikRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			m.keep(r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("cmk: load intermediate keys: %w", err)
	}
	d.Keys.SetResolver(sse.SourceVault, m)
	d.Keys.SetResolver(sse.SourceHSM, m)
	go m.followLoop()
	return m, nil
}

// Close stops following versionless keys.
func (m *Manager) Close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
}

// CacheTTL is the revocation window.
func (m *Manager) CacheTTL() time.Duration { return m.opt.CacheTTL }

// Drop forgets every unwrapped key, so that the next use asks the vault.
func (m *Manager) Drop() {
	m.mu.Lock()
	clear(m.cache)
	m.mu.Unlock()
}

// current is an owner's newest intermediate-key record (nil if none).
func (m *Manager) current(owner string) (*ikRecord, error) {
	m.recMu.RLock()
	defer m.recMu.RUnlock()
	var rec *ikRecord
	for gen, r := range m.recs[owner] {
		if rec == nil || gen > rec.Gen {
			r := r
			rec = &r
		}
	}
	return rec, nil
}

func (m *Manager) load(owner string, gen uint32) (*ikRecord, error) {
	m.recMu.RLock()
	r, ok := m.recs[owner][gen]
	m.recMu.RUnlock()
	if !ok {
		return nil, &sse.KeyError{Code: sse.CodeKeyNotFound, Reason: fmt.Sprintf("no intermediate key %s generation %d", owner, gen)}
	}
	return &r, nil
}

// keep records r in memory.
func (m *Manager) keep(r ikRecord) {
	m.recMu.Lock()
	defer m.recMu.Unlock()
	if m.recs[r.Owner] == nil {
		m.recs[r.Owner] = map[uint32]ikRecord{}
	}
	m.recs[r.Owner][r.Gen] = r
}

// store writes the owner's current record.
func (m *Manager) store(rec *ikRecord) error {
	if err := m.put(rec); err != nil {
		return err
	}
	m.mu.Lock()
	m.gen[rec.Owner] = rec.Gen
	m.mu.Unlock()
	return nil
}

// put writes a record of any generation.
func (m *Manager) put(rec *ikRecord) error {
	rec.Updated = time.Now().UTC().Truncate(time.Second)
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := m.d.DB.Update(func(tx *sse.Tx) error { return tx.Put(ikKey(rec.Owner, rec.Gen), b, m.kek) }); err != nil {
		return err
	}
	m.keep(*rec)
	return nil
}

// warm is the cached KEK of an owner's generation, if still in date.
func (m *Manager) warm(owner string, gen uint32, src sse.Source) (sse.KEK, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cache[cacheKey(owner, gen)]
	if !ok || c.src != src || !time.Now().Before(c.expires) {
		return nil, false
	}
	return c.kek, true
}

func source(k account.KeyVaultKey) sse.Source {
	if isPKCS11(k.VaultURI) {
		return sse.SourceHSM
	}
	return sse.SourceVault
}

func cacheKey(owner string, gen uint32) string {
	return owner + "\x00" + strconv.FormatUint(uint64(gen), 10)
}

// KEK is the owner's current KEK, creating the owner's intermediate key
// under k on first use.
func (m *Manager) KEK(owner, principal string, k account.KeyVaultKey) (sse.KEK, error) {
	m.mu.Lock()
	gen, known := m.gen[owner]
	m.mu.Unlock()
	if known {
		if kek, ok := m.warm(owner, gen, source(k)); ok {
			return kek, nil
		}
	}
	rec, err := m.current(owner)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return m.Use(owner, principal, k)
	}
	m.mu.Lock()
	m.gen[owner] = rec.Gen
	m.mu.Unlock()
	return m.open(rec)
}

// Resolve opens the KEK an object header names: ref is the owner, version
// the intermediate key's generation.
func (m *Manager) Resolve(src sse.Source, ref, version string) (sse.KEK, error) {
	gen, err := strconv.ParseUint(version, 10, 32)
	if err != nil {
		return nil, sse.ErrKeyUnavailable
	}
	if kek, ok := m.warm(ref, uint32(gen), src); ok {
		return kek, nil
	}
	rec, err := m.load(ref, uint32(gen))
	if err != nil {
		return nil, err
	}
	if source(rec.Key) != src {
		return nil, sse.ErrKeyUnavailable
	}
	return m.open(rec)
}

// open returns the KEK of an intermediate key, unwrapping it in the vault
// (as the owner's identity) when the cached copy has expired.
func (m *Manager) open(rec *ikRecord) (sse.KEK, error) {
	ck := cacheKey(rec.Owner, rec.Gen)
	now := time.Now()
	m.mu.Lock()
	c, ok := m.cache[ck]
	m.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.kek, nil
	}
	raw, err := m.unwrap(rec)
	if err != nil {
		m.mu.Lock()
		delete(m.cache, ck)
		m.mu.Unlock()
		return nil, err
	}
	return m.remember(rec, raw)
}

func (m *Manager) remember(rec *ikRecord, raw []byte) (sse.KEK, error) {
	ik := secret.New(raw)
	clear(raw)
	defer ik.Wipe()
	kek, err := sse.NewAESKEK(source(rec.Key), rec.Owner, strconv.FormatUint(uint64(rec.Gen), 10), ik)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.cache[cacheKey(rec.Owner, rec.Gen)] = cached{kek: kek, src: source(rec.Key), expires: time.Now().Add(m.opt.CacheTTL)}
	m.mu.Unlock()
	return kek, nil
}

// Use makes k the owner's key: the current intermediate key is re-wrapped
// under k (a first one is made if there is none, or if the current one
// cannot be unwrapped any more, in which case a new generation starts).
// It fails, changing nothing, unless principal can wrap and unwrap with k.
func (m *Manager) Use(owner, principal string, k account.KeyVaultKey) (sse.KEK, error) {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	cur, err := m.current(owner)
	if err != nil {
		return nil, err
	}
	var raw []byte
	next := &ikRecord{Owner: owner, Gen: 1, Principal: principal, Key: k}
	if cur != nil {
		next.Gen = cur.Gen
		// the intermediate key is wrapped by the customer's key, not by an
		// identity: the new identity may open it even when the one that
		// stored it is gone (a deleted user-assigned identity)
		as := *cur
		as.Principal = principal
		if raw, err = m.unwrap(&as); err != nil && cur.Principal != principal {
			raw, err = m.unwrap(cur)
		}
		if err != nil {
			m.opt.Log.Warn("the current intermediate key cannot be unwrapped; starting a new generation", "owner", owner, "err", err)
			raw, next.Gen = nil, cur.Gen+1
		}
	}
	if raw == nil {
		ik, err := secret.Random(32)
		if err != nil {
			return nil, err
		}
		raw = append([]byte(nil), ik.Bytes()...)
		ik.Wipe()
	}
	defer clear(raw)
	if err := m.wrap(next, raw); err != nil {
		return nil, err
	}
	// prove the round trip before storing: a key that wraps but does not
	// unwrap for this identity would lock the data out
	back, err := m.unwrap(next)
	if err != nil {
		return nil, err
	}
	ok := string(back) == string(raw)
	clear(back)
	if !ok {
		return nil, errors.New("cmk: the key did not unwrap what it wrapped")
	}
	if err := m.store(next); err != nil {
		return nil, err
	}
	if cur != nil && cur.Principal != principal {
		m.adoptOlder(owner, next.Gen, principal)
	}
	return m.remember(next, append([]byte(nil), raw...))
}

// adoptOlder moves an owner's older generations to a new identity, each
// one that identity can unwrap (they may be wrapped by keys it has no role
// on; those keep their identity and wait for it).
func (m *Manager) adoptOlder(owner string, below uint32, principal string) {
	for gen := uint32(1); gen < below; gen++ {
		rec, err := m.load(owner, gen)
		if err != nil || rec.Principal == principal {
			continue
		}
		as := *rec
		as.Principal = principal
		raw, err := m.unwrap(&as)
		if err != nil {
			continue
		}
		clear(raw)
		if err := m.put(&as); err != nil {
			m.opt.Log.Warn("an older intermediate key keeps its identity", "owner", owner, "gen", gen, "err", err)
		}
	}
}

// Follow re-wraps the owner's intermediate key under the newest version of
// a versionless key, when there is a newer one.
func (m *Manager) Follow(owner string) (bool, error) {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	rec, err := m.current(owner)
	if err != nil || rec == nil || rec.Key.Version != "" {
		return false, err
	}
	latest, _, err := m.latest(rec)
	if err != nil || latest == rec.WrappedBy {
		return false, err
	}
	raw, err := m.unwrap(rec)
	if err != nil {
		return false, err
	}
	defer clear(raw)
	next := *rec
	if err := m.wrap(&next, raw); err != nil {
		return false, err
	}
	if err := m.store(&next); err != nil {
		return false, err
	}
	m.opt.Log.Info("customer-managed key follows a new version", "owner", owner, "version", next.WrappedBy)
	return true, nil
}

// Owners lists the owners with intermediate keys, in order.
func (m *Manager) Owners() ([]string, error) {
	m.recMu.RLock()
	out := make([]string, 0, len(m.recs))
	for o := range m.recs {
		out = append(out, o)
	}
	m.recMu.RUnlock()
	sort.Strings(out)
	return out, nil
}

// FollowAll checks every versionless key now.
func (m *Manager) FollowAll() {
	owners, err := m.Owners()
	if err != nil {
		m.opt.Log.Error("listing customer-managed keys", "err", err)
		return
	}
	for _, o := range owners {
		if _, err := m.Follow(o); err != nil {
			m.opt.Log.Warn("following a customer-managed key's newest version", "owner", o, "err", err)
		}
	}
}

func (m *Manager) followLoop() {
	defer close(m.done)
	t := time.NewTicker(m.opt.FollowEvery)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.FollowAll()
		}
	}
}

// CurrentVersion reports the key version that wraps an owner's current
// intermediate key ("" when there is none).
func (m *Manager) CurrentVersion(owner string) string {
	rec, err := m.current(owner)
	if err != nil || rec == nil {
		return ""
	}
	return rec.WrappedBy
}

var background = context.Background
