package keyvault

import (
	"encoding/json"
	"time"

	"github.com/atrest/atrest/internal/sse"
)

// Backups are opaque: every version of a key, with its material, sealed as
// one sse object under the installation's backup KEK. They restore into any
// vault of the same installation (same root key) and nowhere else.

const backupFormat = "atrest-keyvault-backup/v1"

var backupBinding = sse.Binding{Kind: "kvbackup", Object: backupFormat}

type backupRecord struct {
	Format   string          `json:"format"`
	Vault    string          `json:"vault"`
	Head     headRecord      `json:"head"`
	Versions []versionRecord `json:"versions"`
	Created  time.Time       `json:"created"`
}

func (s *Service) backupKey(o *op, _ []byte) (any, error) {
	h, e := s.loadHead(o, false)
	if e != nil {
		return nil, e
	}
	o.version = h.latest()
	rec := backupRecord{Format: backupFormat, Vault: o.vault.Name, Head: *h, Created: s.now()}
	err := s.db.View(func(tx *sse.Tx) error {
		for _, v := range h.Versions {
			var vr versionRecord
			if _, err := getJSON(tx, versionKey(o.vault.Name, o.key, v), &vr); err != nil {
				return err
			}
			rec.Versions = append(rec.Versions, vr)
		}
		return nil
	})
	defer func() {
		for _, v := range rec.Versions {
			clear(v.Material)
		}
	}()
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	kek, err := s.keys.ServiceKEK(backupKEKRef)
	if err != nil {
		return nil, err
	}
	sealed, err := sse.Seal(kek, backupBinding, plain)
	if err != nil {
		return nil, err
	}
	return backupResult{Value: sealed}, nil
}

func (s *Service) restoreKey(o *op, body []byte) (any, error) {
	var p backupResult
	if e := decode(body, &p); e != nil {
		return nil, e
	}
	plain, _, err := sse.Open(s.keys, backupBinding, p.Value)
	if err != nil {
		return nil, badParameter("The backup blob is corrupt or was not made by this installation.")
	}
	defer clear(plain)
	var rec backupRecord
	if err := json.Unmarshal(plain, &rec); err != nil || rec.Format != backupFormat || len(rec.Versions) == 0 || !validKeyName(rec.Head.Name) {
		return nil, badParameter("The backup blob is not a key backup this server understands.")
	}
	defer func() {
		for _, v := range rec.Versions {
			clear(v.Material)
		}
	}()
	o.key = rec.Head.Name
	kek, err := s.vaultKEK(o.vault.Name)
	if err != nil {
		return nil, err
	}
	head := rec.Head
	head.Deleted = nil
	var e *Error
	err = s.db.Update(func(tx *sse.Tx) error {
		e = nil
		if tx.Has(headKey(o.vault.Name, head.Name)) {
			e = conflict("There was a conflict restoring the key '%s'. Probably the key already exists or is deleted but not yet purged.", head.Name)
			return nil
		}
		for i := range rec.Versions {
			if err := putJSON(tx, versionKey(o.vault.Name, head.Name, rec.Versions[i].Version), &rec.Versions[i], kek); err != nil {
				return err
			}
		}
		return putJSON(tx, headKey(o.vault.Name, head.Name), &head, kek)
	})
	s.cache.drop(o.vault.Name, head.Name)
	if err != nil {
		return nil, err
	}
	if e != nil {
		return nil, e
	}
	_, k, e := s.loadVersion(o, "")
	if e != nil {
		return nil, e
	}
	return s.bundle(o, &head, k), nil
}
