package edge

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/atrest/atrest/internal/secret"
)

// DevAccount and DevKey are Azurite's well-known development account.
const (
	DevAccount = "devstoreaccount1"
	DevKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Account is a storage account and its shared keys.
type Account struct {
	Name     string
	Keys     []secret.Key
	Switches Switches
}

// Accounts maps names to accounts.
type Accounts map[string]*Account

// ParseAccounts reads Azurite's AZURITE_ACCOUNTS format:
// "name1:key1[:key2];name2:key1". The dev account is always present.
func ParseAccounts(spec string) (Accounts, error) {
	accts := Accounts{}
	dev, _ := secret.FromBase64(DevKey)
	accts[DevAccount] = &Account{Name: DevAccount, Keys: []secret.Key{dev}}
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		fields := strings.Split(part, ":")
		if len(fields) < 2 || !validAccountName(fields[0]) {
			return nil, fmt.Errorf("accounts: %q is not name:key[:key2]", redactKeys(part))
		}
		a := &Account{Name: fields[0]}
		for _, k := range fields[1:] {
			key, err := secret.FromBase64(k)
			if err != nil || key.Len() == 0 {
				return nil, fmt.Errorf("accounts: a key of %s is not valid base64", fields[0])
			}
			a.Keys = append(a.Keys, key)
		}
		accts[a.Name] = a
	}
	return accts, nil
}

func redactKeys(part string) string {
	name, _, _ := strings.Cut(part, ":")
	return name + ":…"
}

func validAccountName(s string) bool {
	if len(s) < 3 || len(s) > 24 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// DevKeyBytes is the development account key, decoded (for tests and tools).
func DevKeyBytes() []byte { k, _ := secret.FromBase64(DevKey); return k.Bytes() }

// B64 is standard base64.
func B64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
