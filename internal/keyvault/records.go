package keyvault

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/sse"
)

// Record keys in the sse DB. Key names are readable; every value (and so all
// key material) is sealed under the vault's service-managed KEK.
//
//	kv\x00v\x00{vault}                    vaultRecord
//	kv\x00h\x00{vault}\x00{name}           headRecord (versions, policy, deletion)
//	kv\x00k\x00{vault}\x00{name}\x00{ver}   versionRecord (with sealed material)
//	kv\x00clock                           the clock offset
const (
	prefixVault   = "kv\x00v\x00"
	prefixHead    = "kv\x00h\x00"
	prefixVersion = "kv\x00k\x00"
	recClock      = "kv\x00clock"
)

func vaultKey(vault string) []byte { return []byte(prefixVault + vault) }

func headPrefix(vault string) []byte { return []byte(prefixHead + vault + "\x00") }

func headKey(vault, name string) []byte {
	return []byte(prefixHead + vault + "\x00" + strings.ToLower(name))
}

func versionKey(vault, name, version string) []byte {
	return []byte(prefixVersion + vault + "\x00" + strings.ToLower(name) + "\x00" + version)
}

func versionPrefix(vault, name string) []byte {
	return []byte(prefixVersion + vault + "\x00" + strings.ToLower(name) + "\x00")
}

// vaultKEKRef names the KEK that seals one vault's records.
func vaultKEKRef(vault string) string { return "keyvault/" + vault }

// KEKs of the service's own records and of backups; their names cannot
// collide with a vault's ("keyvault/" + name).
const (
	serviceKEKRef = "keyvault-service/state"
	backupKEKRef  = "keyvault-service/backup"
)

// headRecord is a key: its versions (oldest first), rotation policy and
// soft-deletion state.
type headRecord struct {
	Name     string        `json:"name"`
	Versions []string      `json:"versions"`
	Policy   *policyRecord `json:"policy,omitempty"`
	Deleted  *deletion     `json:"deleted,omitempty"`
	Notified string        `json:"notified,omitempty"` // version a Notify action fired for
}

func (h *headRecord) latest() string { return h.Versions[len(h.Versions)-1] }

type deletion struct {
	Date      time.Time `json:"date"`
	PurgeDate time.Time `json:"purgeDate"`
}

// versionRecord is one version of a key, with its private material.
type versionRecord struct {
	Version   string            `json:"version"`
	Kty       string            `json:"kty"`
	Size      int               `json:"size,omitempty"`
	Curve     string            `json:"crv,omitempty"`
	Ops       []string          `json:"ops"`
	Enabled   bool              `json:"enabled"`
	NotBefore *time.Time        `json:"nbf,omitempty"`
	Expires   *time.Time        `json:"exp,omitempty"`
	Created   time.Time         `json:"created"`
	Updated   time.Time         `json:"updated"`
	Tags      map[string]string `json:"tags,omitempty"`
	Material  []byte            `json:"material"` // PKCS#8 (RSA, EC) or the raw AES key (oct)
}

func getJSON(tx *sse.Tx, key []byte, v any) (bool, error) {
	b, err := tx.Get(key)
	if errors.Is(err, sse.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = json.Unmarshal(b, v)
	clear(b)
	return err == nil, err
}

func putJSON(tx *sse.Tx, key []byte, v any, kek sse.KEK) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	err = tx.Put(key, b, kek)
	clear(b)
	return err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
