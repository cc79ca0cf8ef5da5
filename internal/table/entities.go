package table

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/odata"
	"github.com/atrest/atrest/internal/sse"
)

// opKind is what a write does with an entity.
type opKind int

const (
	opInsert  opKind = iota // POST: create, 409 if present
	opReplace               // PUT: replace, or insert-or-replace without If-Match
	opMerge                 // MERGE/PATCH: merge, or insert-or-merge without If-Match
	opDelete                // DELETE: If-Match required
)

// op is one entity write, from a request or from a batch.
type op struct {
	kind    opKind
	table   string // lower-cased
	ent     Entity // keys and, for writes, properties
	ifMatch string // "" when absent
}

// apply runs o in tx and returns the entity as stored (nil after delete).
// It has no effect outside tx, so group commit may run it again.
func apply(tx *sse.Tx, kek sse.KEK, acct string, o *op) (*Entity, error) {
	if !tableUsable(tx, acct, o.table) {
		return nil, errTableNotFound
	}
	key := rowKey(acct, o.table, o.ent.PartitionKey, o.ent.RowKey)
	if o.kind == opInsert {
		if tx.Has(key) {
			return nil, errEntityExists
		}
		return put(tx, kek, key, o.ent)
	}
	// the current entity is read only when a condition or a merge needs it
	var cur *Entity
	if o.ifMatch != "" && o.ifMatch != "*" || o.kind == opMerge {
		b, err := tx.Get(key)
		switch {
		case err == nil:
			cur = &Entity{}
			if err := decodeEntity(b, cur); err != nil {
				return nil, err
			}
		case !errors.Is(err, sse.ErrNotFound):
			return nil, err
		}
	}
	exists := cur != nil || tx.Has(key)
	if o.ifMatch != "" {
		if !exists {
			return nil, errResourceNotFound
		}
		if cur != nil && !etagMatches(o.ifMatch, cur.Timestamp) {
			return nil, errUpdateCondition
		}
	}
	switch o.kind {
	case opDelete:
		if !exists {
			return nil, errResourceNotFound
		}
		return nil, tx.Delete(key)
	case opMerge:
		e := o.ent
		if cur != nil {
			e.Props = merge(cur.Props, o.ent.Props)
			if err := checkSize(&e); err != nil {
				return nil, err
			}
		}
		return put(tx, kek, key, e)
	}
	return put(tx, kek, key, o.ent)
}

func put(tx *sse.Tx, kek sse.KEK, key []byte, e Entity) (*Entity, error) {
	e.Timestamp = nextTick()
	return &e, tx.Put(key, encodeEntity(&e), kek)
}

// merge overlays props on cur: existing properties keep their place.
func merge(cur, props []Prop) []Prop {
	out := append([]Prop(nil), cur...)
	for _, p := range props {
		i := 0
		for i < len(out) && out[i].Name != p.Name {
			i++
		}
		if i < len(out) {
			out[i] = p
		} else {
			out = append(out, p)
		}
	}
	return out
}

func checkSize(e *Entity) error {
	if len(e.Props) > maxProperties {
		return errTooManyProperties
	}
	if entitySize(e) > maxEntityBytes {
		return errEntityTooLarge
	}
	return nil
}

// etagMatches compares an If-Match value with an entity's ETag; clients
// echo it as received, some with the datetime unescaped.
func etagMatches(ifMatch string, ticks int64) bool {
	ifMatch = strings.TrimSpace(ifMatch)
	if ifMatch == "*" || ifMatch == etag(ticks) {
		return true
	}
	s, ok := strings.CutPrefix(ifMatch, `W/"datetime'`)
	s, ok2 := strings.CutSuffix(s, `'"`)
	if !ok || !ok2 {
		return false
	}
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	t, err := odata.ParseDateTime(s)
	return err == nil && t == ticks
}

// entityOp builds the op a request describes; body is nil for delete.
func entityOp(kind opKind, table, object string, body []byte, ifMatch string) (*op, error) {
	if err := checkTableName(table); err != nil {
		return nil, err
	}
	o := &op{kind: kind, table: strings.ToLower(table), ifMatch: ifMatch}
	if body != nil {
		e, hasPK, hasRK, err := parseEntity(body)
		if err != nil {
			return nil, err
		}
		if kind == opInsert && (!hasPK || !hasRK) {
			return nil, errPropertiesNeedValue
		}
		o.ent = e
	}
	if kind != opInsert {
		pk, rk, err := entityKeys(object)
		if err != nil {
			return nil, err
		}
		// the URL names the entity; keys in the body are not consulted
		o.ent.PartitionKey, o.ent.RowKey = pk, rk
	}
	if err := checkKey("PartitionKey", o.ent.PartitionKey); err != nil {
		return nil, err
	}
	if err := checkKey("RowKey", o.ent.RowKey); err != nil {
		return nil, err
	}
	if err := checkSize(&o.ent); err != nil {
		return nil, err
	}
	return o, nil
}

// run applies one op in its own transaction.
func (s *Service) run(acct string, o *op) (*Entity, error) {
	kek, err := s.kek(acct)
	if err != nil {
		return nil, err
	}
	var stored *Entity
	err = s.db.Update(func(tx *sse.Tx) error {
		stored, err = apply(tx, kek, acct, o)
		return err
	})
	return stored, mapStoreErr(err)
}

func (s *Service) insertEntity(w http.ResponseWriter, r *edge.Request) error {
	lvl, err := responseLevel(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	o, err := entityOp(opInsert, r.Container, "", body, "")
	if err != nil {
		return err
	}
	if err := limitsOf(r).allows(o); err != nil {
		return err
	}
	e, err := s.run(r.Account.Name, o)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", etag(e.Timestamp))
	loc := accountURL(r) + entityPath(r.Container, e.PartitionKey, e.RowKey)
	h.Set("Location", loc)
	h.Set("DataServiceId", loc)
	if noContent, given := preferNoContent(r); noContent {
		h.Set("Preference-Applied", "return-no-content")
		w.WriteHeader(http.StatusNoContent)
		return nil
	} else if given {
		h.Set("Preference-Applied", "return-content")
	}
	j := entityJSON{lvl: lvl, account: accountURL(r), acct: r.Account.Name, table: r.Container}
	return writeJSON(w, http.StatusCreated, lvl, j.append(nil, e, true))
}

// writeEntity is Update (PUT) and Merge (MERGE, PATCH); without If-Match
// they are Insert Or Replace and Insert Or Merge.
func (s *Service) writeEntity(w http.ResponseWriter, r *edge.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	kind := opReplace
	if r.Method != http.MethodPut {
		kind = opMerge
	}
	o, err := entityOp(kind, r.Container, r.Object, body, r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	if err := limitsOf(r).allows(o); err != nil {
		return err
	}
	e, err := s.run(r.Account.Name, o)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(e.Timestamp))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) deleteEntity(w http.ResponseWriter, r *edge.Request) error {
	ifMatch := r.Header.Get("If-Match")
	if ifMatch == "" {
		return edge.ErrMissingHeader.With("An HTTP header that's mandatory for this request is not specified.\nHeaderName:If-Match")
	}
	o, err := entityOp(opDelete, r.Container, r.Object, nil, ifMatch)
	if err != nil {
		return err
	}
	if err := limitsOf(r).allows(o); err != nil {
		return err
	}
	if _, err := s.run(r.Account.Name, o); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) getEntity(w http.ResponseWriter, r *edge.Request) error {
	lvl, err := responseLevel(r)
	if err != nil {
		return err
	}
	sel, err := selectParam(r)
	if err != nil {
		return err
	}
	if err := checkTableName(r.Container); err != nil {
		return err
	}
	pk, rk, err := entityKeys(r.Object)
	if err != nil {
		return err
	}
	// outside a SAS's key range an entity is not there, as Azure answers
	if !limitsOf(r).inRange(pk, rk) {
		return errResourceNotFound
	}
	acct, lower := r.Account.Name, strings.ToLower(r.Container)
	e := &Entity{PartitionKey: pk, RowKey: rk}
	err = s.db.View(func(tx *sse.Tx) error {
		if !tableUsable(tx, acct, lower) {
			return errTableNotFound
		}
		b, err := tx.Get(rowKey(acct, lower, pk, rk))
		if errors.Is(err, sse.ErrNotFound) {
			return errResourceNotFound
		}
		if err != nil {
			return err
		}
		return decodeEntity(b, e)
	})
	if err != nil {
		return mapStoreErr(err)
	}
	w.Header().Set("ETag", etag(e.Timestamp))
	j := entityJSON{lvl: lvl, account: accountURL(r), acct: acct, table: r.Container, sel: sel}
	return writeJSON(w, http.StatusOK, lvl, j.append(nil, e, true))
}

// selectParam reads $select: nil for all properties.
func selectParam(r *edge.Request) ([]string, error) {
	v := r.URL.Query().Get("$select")
	if v == "" || v == "*" {
		return nil, nil
	}
	var names []string
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if n == "*" {
			return nil, nil
		}
		if checkPropertyName(n) != nil {
			return nil, errInvalidInput.With("The $select property %q is not a valid property name.", n)
		}
		names = append(names, n)
	}
	return names, nil
}
