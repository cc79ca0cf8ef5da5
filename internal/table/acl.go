package table

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// getTableACL answers the table's stored access policies.
func (s *Service) getTableACL(w http.ResponseWriter, r *edge.Request) error {
	rec, err := s.tableRecord(r.Account.Name, r.Container)
	if err != nil {
		return err
	}
	return edge.WriteSignedIdentifiers(w, rec.ACL)
}

// setTableACL replaces the table's stored access policies; a SAS naming
// one that is gone stops working at once.
func (s *Service) setTableACL(w http.ResponseWriter, r *edge.Request) error {
	if err := checkTableName(r.Container); err != nil {
		return err
	}
	ids, err := edge.ReadSignedIdentifiers(r.Body)
	if err != nil {
		return err
	}
	kek, err := s.indexKEK(r.Account.Name)
	if err != nil {
		return err
	}
	acct, lower := r.Account.Name, strings.ToLower(r.Container)
	err = s.db.Update(func(tx *sse.Tx) error {
		if !tableUsable(tx, acct, lower) {
			return errResourceNotFound
		}
		rec, err := getTable(tx, tableKey(acct, lower))
		if err != nil {
			return err
		}
		rec.ACL = ids
		b, _ := json.Marshal(rec)
		return tx.Put(tableKey(acct, lower), b, kek)
	})
	if err != nil {
		return mapStoreErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// StoredPolicy finds a table's stored access policy for service SAS.
func (s *Service) StoredPolicy(acct, table, id string) (*edge.StoredPolicy, error) {
	rec, err := s.tableRecord(acct, table)
	if err != nil {
		return nil, err
	}
	return edge.FindPolicy(rec.ACL, id), nil
}

func (s *Service) tableRecord(acct, table string) (tableRec, error) {
	if err := checkTableName(table); err != nil {
		return tableRec{}, err
	}
	lower := strings.ToLower(table)
	var rec tableRec
	err := s.db.View(func(tx *sse.Tx) error {
		if !tableUsable(tx, acct, lower) {
			return errResourceNotFound
		}
		var err error
		rec, err = getTable(tx, tableKey(acct, lower))
		return err
	})
	return rec, mapStoreErr(err)
}
