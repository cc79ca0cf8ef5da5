package table

import (
	"net/http"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/odata"
	"github.com/atrest/atrest/internal/sse"
)

// queryBudget is how long one page of a query may scan, as in Azure: a
// filter that matches little returns what it found so far and a
// continuation, rather than holding the request open.
const queryBudget = 5 * time.Second

// scanPlan is the part of a table a query must read: the records under
// prefix, starting strictly after `after`, while their keys stay in range.
type scanPlan struct {
	base    []byte // the table's rows
	prefix  []byte
	after   []byte
	pk, rk  odata.Range
	exactPK bool
	none    bool // the filter can match nothing
}

// planScan narrows a query to the key range its filter pins down: one
// partition, and a row-key range within it, or a range of partitions.
func planScan(acct, table string, f *odata.Filter) scanPlan {
	p := scanPlan{base: rowsPrefix(acct, table), pk: f.Range("PartitionKey"), rk: f.Range("RowKey")}
	p.prefix = p.base
	if p.pk.Empty() || p.rk.Empty() {
		p.none = true
		return p
	}
	if pk, ok := p.pk.Exact(); ok {
		p.exactPK = true
		p.prefix = partitionPrefix(acct, table, pk)
		if p.rk.HasLo {
			// "…pk\0lo" precedes the record of RK lo; its full key
			// "…pk\0lo\0" is where the records after it start
			p.after = append(append([]byte(nil), p.prefix...), p.rk.Lo...)
			if !p.rk.LoIncl {
				p.after = append(p.after, 0)
			}
		}
		return p
	}
	if p.pk.HasLo {
		p.after = append(append([]byte(nil), p.base...), p.pk.Lo...)
		if !p.pk.LoIncl {
			// past every RK of that partition: valid UTF-8 has no 0xff
			p.after = append(p.after, 0, 0xff)
		}
	}
	return p
}

// resume moves the start past a continuation point.
func (p *scanPlan) resume(acct, table, pk, rk string) {
	k := rowKey(acct, table, pk, rk)
	if p.after == nil || string(k) > string(p.after) {
		p.after = k
	}
}

func continuation(r *edge.Request) (pk, rk string, ok bool, err error) {
	q := r.URL.Query()
	np, nr := q.Get("NextPartitionKey"), q.Get("NextRowKey")
	if np == "" && nr == "" {
		return "", "", false, nil
	}
	pk, ok1 := decodeToken(np)
	rk, ok2 := decodeToken(nr)
	if !ok1 || !ok2 {
		return "", "", false, errInvalidInput.With("The continuation tokens NextPartitionKey and NextRowKey are not valid.")
	}
	return pk, rk, true, nil
}

// queryEntities answers $filter, $select and $top over one table, with
// NextPartitionKey and NextRowKey to continue.
func (s *Service) queryEntities(w http.ResponseWriter, r *edge.Request) error {
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
	sel, err := selectParam(r)
	if err != nil {
		return err
	}
	if err := checkTableName(r.Container); err != nil {
		return err
	}
	npk, nrk, resume, err := continuation(r)
	if err != nil {
		return err
	}
	acct, lower := r.Account.Name, strings.ToLower(r.Container)
	limits := limitsOf(r) // a SAS's key range hides what is outside it
	plan := planScan(acct, lower, f)
	if resume {
		plan.resume(acct, lower, npk, nrk)
	}
	var found []*Entity
	var nextPK, nextRK string
	more := false
	err = s.db.View(func(tx *sse.Tx) error {
		found, more = found[:0], false
		if !tableUsable(tx, acct, lower) {
			return errTableNotFound
		}
		if plan.none {
			return nil
		}
		deadline := time.Now().Add(queryBudget)
		examined := 0
		return tx.Scan(plan.prefix, plan.after, func(k, v []byte) error {
			pk, rk, ok := splitRowKey(len(plan.base), k)
			if !ok {
				return errCorrupt
			}
			if plan.pk.Above(pk) || plan.exactPK && plan.rk.Above(rk) {
				return sse.ErrStop
			}
			if len(found) == top {
				more = true
				return sse.ErrStop
			}
			e := &Entity{PartitionKey: pk, RowKey: rk}
			if err := decodeEntity(v, e); err != nil {
				return err
			}
			if f.Match(e) && limits.inRange(pk, rk) {
				found = append(found, e)
			}
			nextPK, nextRK = pk, rk
			if examined++; examined%1024 == 0 && time.Now().After(deadline) {
				more = true
				return sse.ErrStop
			}
			return nil
		})
	})
	if err != nil {
		return mapStoreErr(err)
	}
	if more {
		h := w.Header()
		h.Set("x-ms-continuation-NextPartitionKey", encodeToken(nextPK))
		h.Set("x-ms-continuation-NextRowKey", encodeToken(nextRK))
	}
	j := entityJSON{lvl: lvl, account: accountURL(r), acct: acct, table: r.Container, sel: sel}
	b := []byte("{")
	if lvl != noMetadata {
		meta := j.account + "$metadata#" + r.Container
		if sel != nil {
			meta += "&$select=" + strings.Join(sel, ",")
		}
		b = append(b, `"odata.metadata":`...)
		b = appendString(b, meta)
		b = append(b, ',')
	}
	b = append(b, `"value":[`...)
	for i, e := range found {
		if i > 0 {
			b = append(b, ',')
		}
		b = j.append(b, e, false)
	}
	b = append(b, "]}"...)
	return writeJSON(w, http.StatusOK, lvl, b)
}
