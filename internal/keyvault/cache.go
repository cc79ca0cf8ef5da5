package keyvault

import (
	"strings"
	"sync"
	"time"
)

// cache keeps opened keys in memory so that a busy key is not unsealed and
// parsed on every request. Entries live at most ttl (the bound on how long a
// change made behind the service's back could go unseen); every change made
// through the service drops the key's entries at once.
//
// A reader that loaded a record from the store may only cache it if no change
// was dropped since it started reading (the epoch is unchanged); otherwise a
// slow reader could put back what a writer had just invalidated.
type cache struct {
	ttl time.Duration
	max int

	mu    sync.Mutex
	epoch uint64
	keys  map[string]*cachedKey // vault \x00 lower(name)
}

type cachedKey struct {
	head     *headRecord
	headAt   time.Time
	versions map[string]cachedVersion
}

type cachedVersion struct {
	k  *keyVersion
	at time.Time
}

func newCache(ttl time.Duration) *cache {
	return &cache{ttl: ttl, max: 4096, keys: map[string]*cachedKey{}}
}

func cacheID(vault, name string) string { return vault + "\x00" + strings.ToLower(name) }

func (c *cache) head(vault, name string) *headRecord {
	if c.ttl <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.keys[cacheID(vault, name)]
	if e == nil || e.head == nil || time.Since(e.headAt) > c.ttl {
		return nil
	}
	return e.head
}

func (c *cache) version(vault, name, version string) *keyVersion {
	if c.ttl <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.keys[cacheID(vault, name)]
	if e == nil {
		return nil
	}
	v, ok := e.versions[version]
	if !ok || time.Since(v.at) > c.ttl {
		return nil
	}
	return v.k
}

func (c *cache) entry(vault, name string) *cachedKey {
	id := cacheID(vault, name)
	e := c.keys[id]
	if e == nil {
		if len(c.keys) >= c.max {
			clear(c.keys)
		}
		e = &cachedKey{versions: map[string]cachedVersion{}}
		c.keys[id] = e
	}
	return e
}

// now is the epoch to pass to a later put.
func (c *cache) now() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

func (c *cache) putHead(vault, name string, h *headRecord, epoch uint64) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	e := c.entry(vault, name)
	e.head, e.headAt = h, time.Now()
}

func (c *cache) putVersion(vault, name string, k *keyVersion, epoch uint64) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	c.entry(vault, name).versions[k.rec.Version] = cachedVersion{k: k, at: time.Now()}
}

// drop forgets a key after it changed.
func (c *cache) drop(vault, name string) {
	c.mu.Lock()
	c.epoch++
	delete(c.keys, cacheID(vault, name))
	c.mu.Unlock()
}

// dropAll forgets everything (e.g. after the clock moved).
func (c *cache) dropAll() {
	c.mu.Lock()
	c.epoch++
	clear(c.keys)
	c.mu.Unlock()
}
