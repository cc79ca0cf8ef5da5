package keyvault

import (
	"time"

	"github.com/atrest/atrest/internal/sse"
)

// Soft delete: a deleted key keeps its versions (still sealed) for the
// vault's retention, can be recovered in that time, and is purged when it
// ends or, unless purge protection holds, on request.

// deletedBundle is a key's latest version plus its deletion dates.
func (s *Service) deletedBundle(o *op, h *headRecord) (keyBundle, error) {
	var rec versionRecord
	err := s.db.View(func(tx *sse.Tx) error {
		_, err := getJSON(tx, versionKey(o.vault.Name, h.Name, h.latest()), &rec)
		return err
	})
	if err != nil {
		return keyBundle{}, err
	}
	k, err := openVersion(rec)
	if err != nil {
		return keyBundle{}, err
	}
	o.version = k.rec.Version
	b := keyBundle{Key: k.public(o.kid(h.Name, k.rec.Version)), Attributes: s.attributes(o.vault, &k.rec), Tags: k.rec.Tags}
	if h.Deleted != nil {
		b.RecoveryID = o.base + "/deletedkeys/" + h.Name
		b.DeletedDate, b.ScheduledPurgeDate = h.Deleted.Date.Unix(), h.Deleted.PurgeDate.Unix()
	}
	return b, nil
}

// setDeleted marks or unmarks a key as deleted in one transaction and
// returns the head as written. want is the state the key must be in first.
func (s *Service) setDeleted(o *op, del *deletion, wantDeleted bool) (*headRecord, *Error) {
	kek, err := s.vaultKEK(o.vault.Name)
	if err != nil {
		return nil, errInternal
	}
	var head headRecord
	var e *Error
	err = s.db.Update(func(tx *sse.Tx) error {
		e = nil
		head = headRecord{}
		found, err := getJSON(tx, headKey(o.vault.Name, o.key), &head)
		if err != nil {
			return err
		}
		if !found || (head.Deleted != nil) != wantDeleted {
			if wantDeleted {
				e = deletedKeyNotFound(o.key)
			} else {
				e = keyNotFound(o.key)
			}
			return nil
		}
		head.Deleted = del
		return putJSON(tx, headKey(o.vault.Name, o.key), &head, kek)
	})
	s.cache.drop(o.vault.Name, o.key)
	if err != nil {
		s.log.Error("key deletion state write failed", "request", o.requestID, "err", err)
		return nil, errInternal
	}
	if e != nil {
		return nil, e
	}
	return &head, nil
}

func (s *Service) deleteKey(o *op, _ []byte) (any, error) {
	now := s.now()
	del := &deletion{Date: now, PurgeDate: now.Add(time.Duration(o.vault.RetentionDays) * 24 * time.Hour)}
	h, e := s.setDeleted(o, del, false)
	if e != nil {
		return nil, e
	}
	return s.deletedBundle(o, h)
}

func (s *Service) getDeletedKey(o *op, _ []byte) (any, error) {
	h, e := s.loadHead(o, true)
	if e != nil {
		return nil, e
	}
	return s.deletedBundle(o, h)
}

func (s *Service) recoverDeletedKey(o *op, _ []byte) (any, error) {
	h, e := s.setDeleted(o, nil, true)
	if e != nil {
		return nil, e
	}
	return s.deletedBundle(o, h)
}

func (s *Service) purgeDeletedKey(o *op, _ []byte) (any, error) {
	if o.vault.PurgeProtection {
		return nil, forbidden("Operation 'DeletedKeyPurge' is not allowed because purge protection is enabled for this vault. Key Vault will automatically purge it after the configured retention period.")
	}
	if _, e := s.loadHead(o, true); e != nil {
		return nil, e
	}
	if e := s.purge(o.vault.Name, o.key, false); e != nil {
		return nil, e
	}
	return noContent{}, nil
}

// purge erases a deleted key and all its versions. onlyIfDue purges only
// once the scheduled purge date has passed (the sweep's case).
func (s *Service) purge(vault, name string, onlyIfDue bool) *Error {
	var e *Error
	err := s.db.Update(func(tx *sse.Tx) error {
		e = nil
		var head headRecord
		found, err := getJSON(tx, headKey(vault, name), &head)
		if err != nil {
			return err
		}
		if !found || head.Deleted == nil {
			e = deletedKeyNotFound(name)
			return nil
		}
		if onlyIfDue && s.now().Before(head.Deleted.PurgeDate) {
			e = conflict("not due")
			return nil
		}
		var keys [][]byte
		err = tx.ScanKeys(versionPrefix(vault, name), nil, func(k []byte) error {
			keys = append(keys, append([]byte(nil), k...))
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return tx.Delete(headKey(vault, name))
	})
	s.cache.drop(vault, name)
	if err != nil {
		s.log.Error("purge failed", "vault", vault, "key", name, "err", err)
		return errInternal
	}
	return e
}
