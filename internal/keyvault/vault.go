package keyvault

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/sse"
)

// Vault is a named set of keys with its own soft-delete settings.
type Vault struct {
	Name            string    `json:"name"`
	RetentionDays   int       `json:"retentionDays"`
	PurgeProtection bool      `json:"purgeProtection"`
	Created         time.Time `json:"created"`
}

// recoveryLevel is Key Vault's name for the vault's deletion guarantees.
func (v Vault) recoveryLevel() string {
	l := "Recoverable"
	if v.RetentionDays < 90 {
		l = "CustomizedRecoverable"
	}
	if !v.PurgeProtection {
		l += "+Purgeable"
	}
	return l
}

// validVaultName follows Azure's rule, lower-cased because vaults are
// addressed by host name: 3-24 letters, digits and hyphens, starting with a
// letter, ending with a letter or digit, no "--".
func validVaultName(n string) bool {
	if len(n) < 3 || len(n) > 24 || strings.Contains(n, "--") {
		return false
	}
	for i, c := range n {
		letter := c >= 'a' && c <= 'z'
		digit := c >= '0' && c <= '9'
		switch {
		case i == 0 && !letter:
			return false
		case i == len(n)-1 && !letter && !digit:
			return false
		case !letter && !digit && c != '-':
			return false
		}
	}
	return true
}

func (s *Service) loadVaults() error {
	return s.db.View(func(tx *sse.Tx) error {
		return tx.Scan([]byte(prefixVault), nil, func(_, v []byte) error {
			var vr Vault
			if err := json.Unmarshal(v, &vr); err != nil {
				return err
			}
			s.vaults[vr.Name] = vr
			return nil
		})
	})
}

func (s *Service) vaultKEK(vault string) (sse.KEK, error) {
	return s.keys.ServiceKEK(vaultKEKRef(vault))
}

// CreateVault adds a vault. Retention is 7-90 days; purge protection, once
// on, stays on.
func (s *Service) CreateVault(name string, retentionDays int, purgeProtection bool) (Vault, error) {
	name = strings.ToLower(name)
	if !validVaultName(name) {
		return Vault{}, fmt.Errorf("vault name %q: use 3-24 lower-case letters, digits and single hyphens, starting with a letter", name)
	}
	if retentionDays == 0 {
		retentionDays = 90
	}
	if retentionDays < 7 || retentionDays > 90 {
		return Vault{}, fmt.Errorf("soft-delete retention must be 7 to 90 days, not %d", retentionDays)
	}
	if _, ok := s.Vault(name); ok {
		return Vault{}, fmt.Errorf("vault %q already exists", name)
	}
	kek, err := s.vaultKEK(name)
	if err != nil {
		return Vault{}, err
	}
	v := Vault{Name: name, RetentionDays: retentionDays, PurgeProtection: purgeProtection, Created: s.now()}
	if err := s.db.Update(func(tx *sse.Tx) error { return putJSON(tx, vaultKey(name), v, kek) }); err != nil {
		return Vault{}, err
	}
	s.mu.Lock()
	s.vaults[name] = v
	s.mu.Unlock()
	return v, nil
}

// EnablePurgeProtection turns purge protection on; it cannot be turned off.
func (s *Service) EnablePurgeProtection(name string) (Vault, error) {
	v, ok := s.Vault(name)
	if !ok {
		return Vault{}, fmt.Errorf("no vault %q", name)
	}
	v.PurgeProtection = true
	kek, err := s.vaultKEK(v.Name)
	if err != nil {
		return Vault{}, err
	}
	if err := s.db.Update(func(tx *sse.Tx) error { return putJSON(tx, vaultKey(v.Name), v, kek) }); err != nil {
		return Vault{}, err
	}
	s.mu.Lock()
	s.vaults[v.Name] = v
	s.mu.Unlock()
	return v, nil
}

// DeleteVault removes an empty vault (no keys, deleted ones included).
func (s *Service) DeleteVault(name string) error {
	v, ok := s.Vault(name)
	if !ok {
		return fmt.Errorf("no vault %q", name)
	}
	err := s.db.Update(func(tx *sse.Tx) error {
		nonEmpty := false
		err := tx.ScanKeys(headPrefix(v.Name), nil, func([]byte) error { nonEmpty = true; return sse.ErrStop })
		if err != nil && err != sse.ErrStop {
			return err
		}
		if nonEmpty {
			return fmt.Errorf("vault %q still holds keys (deleted keys count until purged)", v.Name)
		}
		return tx.Delete(vaultKey(v.Name))
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.vaults, v.Name)
	s.mu.Unlock()
	return nil
}

// Vault returns a vault by name.
func (s *Service) Vault(name string) (Vault, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.vaults[strings.ToLower(name)]
	return v, ok
}

// Vaults lists the vaults by name.
func (s *Service) Vaults() []Vault {
	s.mu.RLock()
	out := make([]Vault, 0, len(s.vaults))
	for _, v := range s.vaults {
		out = append(out, v)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
