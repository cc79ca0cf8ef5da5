package identity

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/atrest/atrest/internal/sse"
)

// keySet holds the token-signing keys: the newest signs, all verify, so a
// rotation does not invalidate tokens already handed out.
type keySet struct {
	db  *sse.DB
	kek sse.KEK

	mu      sync.RWMutex
	current *signingKey
	byKID   map[string]*signingKey
}

type signingKey struct {
	kid     string
	created time.Time
	priv    *rsa.PrivateKey
}

// signingRecord is the sealed form of a signing key.
type signingRecord struct {
	KID     string    `json:"kid"`
	Created time.Time `json:"created"`
	PKCS8   []byte    `json:"pkcs8"`
}

func loadKeySet(db *sse.DB, kek sse.KEK) (*keySet, error) {
	ks := &keySet{db: db, kek: kek, byKID: map[string]*signingKey{}}
	err := db.View(func(tx *sse.Tx) error {
		return tx.Scan([]byte(prefixSign), nil, func(_, v []byte) error {
			var r signingRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			k, err := x509.ParsePKCS8PrivateKey(r.PKCS8)
			clear(r.PKCS8)
			if err != nil {
				return err
			}
			sk := &signingKey{kid: r.KID, created: r.Created, priv: k.(*rsa.PrivateKey)}
			ks.byKID[sk.kid] = sk
			if ks.current == nil || sk.created.After(ks.current.created) {
				ks.current = sk
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if ks.current == nil {
		if _, err := ks.rotate(); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// thumbprint names a public key: base64url of the SHA-256 of its SPKI.
func thumbprint(pub *rsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// rotate generates, seals and starts signing with a new key.
func (ks *keySet) rotate() (string, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	sk := &signingKey{kid: thumbprint(&priv.PublicKey), created: time.Now().UTC(), priv: priv}
	rec, _ := json.Marshal(signingRecord{KID: sk.kid, Created: sk.created, PKCS8: der})
	clear(der)
	err = ks.db.Update(func(tx *sse.Tx) error { return tx.Put([]byte(prefixSign+sk.kid), rec, ks.kek) })
	clear(rec)
	if err != nil {
		return "", err
	}
	ks.mu.Lock()
	ks.byKID[sk.kid] = sk
	ks.current = sk
	ks.mu.Unlock()
	return sk.kid, nil
}

func (ks *keySet) signer() *signingKey {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.current
}

func (ks *keySet) public(kid string) (*rsa.PublicKey, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	k, ok := ks.byKID[kid]
	if !ok {
		return nil, false
	}
	return &k.priv.PublicKey, true
}

// jwk is a public signing key as JWKS serves it.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func (ks *keySet) jwks() []jwk {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	out := make([]jwk, 0, len(ks.byKID))
	for _, k := range ks.byKID {
		pub := k.priv.PublicKey
		out = append(out, jwk{Kty: "RSA", Use: "sig", Alg: "RS256", Kid: k.kid,
			N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kid < out[j].Kid })
	return out
}

// RotateSigningKey starts signing with a new key; tokens signed by older
// keys keep verifying until they expire.
func (s *Service) RotateSigningKey() (string, error) { return s.sign.rotate() }
