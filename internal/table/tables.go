package table

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/odata"
	"github.com/atrest/atrest/internal/sse"
)

// tableEntity lets a $filter on TableName run against a table.
type tableEntity string

func (t tableEntity) Property(name string) (odata.Value, bool) {
	if name == "TableName" {
		return odata.StringValue(string(t)), true
	}
	return odata.Value{}, false
}

func (s *Service) tableJSON(b []byte, r *edge.Request, lvl metadataLevel, name string, element bool) []byte {
	b = append(b, '{')
	if element && lvl != noMetadata {
		b = append(b, `"odata.metadata":`...)
		b = appendString(b, accountURL(r)+"$metadata#Tables/@Element")
		b = append(b, ',')
	}
	if lvl == fullMetadata {
		path := "Tables('" + strings.ReplaceAll(name, "'", "''") + "')"
		b = append(b, `"odata.type":`...)
		b = appendString(b, r.Account.Name+".Tables")
		b = append(b, `,"odata.id":`...)
		b = appendString(b, accountURL(r)+path)
		b = append(b, `,"odata.editLink":`...)
		b = appendString(b, path)
		b = append(b, ',')
	}
	b = append(b, `"TableName":`...)
	b = appendString(b, name)
	return append(b, '}')
}

func (s *Service) createTable(w http.ResponseWriter, r *edge.Request) error {
	lvl, err := responseLevel(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	var in struct{ TableName *string }
	if err := json.Unmarshal(body, &in); err != nil || in.TableName == nil {
		return errInvalidInput.With("The request body must be a JSON object with a TableName.")
	}
	name := *in.TableName
	if err := checkTableName(name); err != nil {
		return err
	}
	kek, err := s.indexKEK(r.Account.Name)
	if err != nil {
		return err
	}
	acct, lower := r.Account.Name, strings.ToLower(name)
	if err := s.finishDelete(acct, lower); err != nil {
		return err
	}
	err = s.db.Update(func(tx *sse.Tx) error {
		if tx.Has(deletingKey(acct, lower)) {
			return errTableBeingDeleted
		}
		if tx.Has(tableKey(acct, lower)) {
			return errTableExists
		}
		b, _ := json.Marshal(tableRec{Name: name, Created: time.Now().UnixNano()})
		return tx.Put(tableKey(acct, lower), b, kek)
	})
	if err != nil {
		return mapStoreErr(err)
	}
	if noContent, given := preferNoContent(r); noContent {
		w.Header().Set("Preference-Applied", "return-no-content")
		w.WriteHeader(http.StatusNoContent)
		return nil
	} else if given {
		w.Header().Set("Preference-Applied", "return-content")
	}
	return writeJSON(w, http.StatusCreated, lvl, s.tableJSON(nil, r, lvl, name, true))
}

func (s *Service) getTable(w http.ResponseWriter, r *edge.Request) error {
	lvl, err := responseLevel(r)
	if err != nil {
		return err
	}
	var rec tableRec
	lower := strings.ToLower(r.Object)
	err = s.db.View(func(tx *sse.Tx) error {
		if !tableUsable(tx, r.Account.Name, lower) {
			return errResourceNotFound
		}
		rec, err = getTable(tx, tableKey(r.Account.Name, lower))
		return err
	})
	if err != nil {
		return mapStoreErr(err)
	}
	return writeJSON(w, http.StatusOK, lvl, s.tableJSON(nil, r, lvl, rec.Name, true))
}

// deleteChunk bounds how many entities one transaction deletes, so that
// dropping a large table never builds one enormous commit (a variable for
// tests).
var deleteChunk = 10000

// deleteTable removes a table and its entities. A small table goes in one
// transaction; a large one is first marked as being deleted (invisible,
// and 409 TableBeingDeleted to create) and then emptied chunk by chunk, a
// crash in between being finished by the next create of that name.
func (s *Service) deleteTable(w http.ResponseWriter, r *edge.Request) error {
	acct, lower := r.Account.Name, strings.ToLower(r.Object)
	kek, err := s.indexKEK(acct)
	if err != nil {
		return err
	}
	large := false
	err = s.db.Update(func(tx *sse.Tx) error {
		if !tableUsable(tx, acct, lower) {
			return errResourceNotFound
		}
		keys, more, err := rowKeys(tx, acct, lower)
		if err != nil {
			return err
		}
		if large = more; large {
			return tx.Put(deletingKey(acct, lower), nil, kek)
		}
		return deleteKeys(tx, append(keys, tableKey(acct, lower)))
	})
	if err == nil && large {
		err = s.finishDelete(acct, lower)
	}
	if err != nil {
		return mapStoreErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rowKeys lists up to deleteChunk entity keys of a table; more reports
// that there are others.
func rowKeys(tx *sse.Tx, acct, lower string) (keys [][]byte, more bool, err error) {
	err = tx.ScanKeys(rowsPrefix(acct, lower), nil, func(k []byte) error {
		if len(keys) == deleteChunk {
			more = true
			return sse.ErrStop
		}
		keys = append(keys, append([]byte(nil), k...))
		return nil
	})
	return keys, more, err
}

func deleteKeys(tx *sse.Tx, keys [][]byte) error {
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// finishDelete empties a table marked as being deleted, then removes it.
func (s *Service) finishDelete(acct, lower string) error {
	pending := false
	s.db.View(func(tx *sse.Tx) error { pending = tx.Has(deletingKey(acct, lower)); return nil })
	for done := !pending; !done; {
		err := s.db.Update(func(tx *sse.Tx) error {
			done = true
			if !tx.Has(deletingKey(acct, lower)) {
				return nil
			}
			keys, more, err := rowKeys(tx, acct, lower)
			if err != nil {
				return err
			}
			if done = !more; done {
				keys = append(keys, tableKey(acct, lower), deletingKey(acct, lower))
			}
			return deleteKeys(tx, keys)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

const maxTop = 1000

// topParam reads $top: 1 to 1000, default 1000.
func topParam(r *edge.Request) (int, error) {
	v := r.URL.Query().Get("$top")
	if v == "" {
		return maxTop, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxTop {
		return 0, errInvalidInput.With("The value of $top must be between 1 and %d.", maxTop)
	}
	return n, nil
}

func filterParam(r *edge.Request) (*odata.Filter, error) {
	v := r.URL.Query().Get("$filter")
	if v == "" {
		return nil, nil
	}
	f, err := odata.ParseFilter(v)
	if err != nil {
		return nil, errBadFilter.With("The query condition specified in the request is invalid: %v", err)
	}
	return f, nil
}

// queryTables lists tables in name order, filtered by $filter on
// TableName, $top at a time; NextTableName continues.
func (s *Service) queryTables(w http.ResponseWriter, r *edge.Request) error {
	lvl, err := responseLevel(r)
	if err != nil {
		return err
	}
	f, err := filterParam(r)
	if err != nil {
		return err
	}
	top, err := topParam(r)
	if err != nil {
		return err
	}
	acct := r.Account.Name
	base := tablePrefix(acct)
	var after []byte
	if t := r.URL.Query().Get("NextTableName"); t != "" {
		last, ok := decodeToken(t)
		if !ok {
			return errInvalidInput.With("The continuation token NextTableName is not valid.")
		}
		after = tableKey(acct, last)
	}
	var names []string
	next := ""
	err = s.db.View(func(tx *sse.Tx) error {
		names, next = names[:0], ""
		return tx.Scan(base, after, func(k, v []byte) error {
			lower := string(k[len(base):])
			if tx.Has(deletingKey(acct, lower)) {
				return nil
			}
			var rec tableRec
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if !f.Match(tableEntity(rec.Name)) {
				return nil
			}
			if len(names) == top {
				next = strings.ToLower(names[len(names)-1])
				return sse.ErrStop
			}
			names = append(names, rec.Name)
			return nil
		})
	})
	if err != nil {
		return mapStoreErr(err)
	}
	if next != "" {
		w.Header().Set("x-ms-continuation-NextTableName", encodeToken(next))
	}
	b := []byte("{")
	if lvl != noMetadata {
		b = append(b, `"odata.metadata":`...)
		b = appendString(b, accountURL(r)+"$metadata#Tables")
		b = append(b, ',')
	}
	b = append(b, `"value":[`...)
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.tableJSON(b, r, lvl, n, false)
	}
	b = append(b, "]}"...)
	return writeJSON(w, http.StatusOK, lvl, b)
}
