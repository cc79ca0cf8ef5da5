package keyvault

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"

	"github.com/atrest/atrest/internal/sse"
)

// Listing: pages of at most maxresults (1-25, default 25) items, continued
// through nextLink with an opaque $skiptoken, as Key Vault pages.

func pageSize(q url.Values) (int, *Error) {
	v := q.Get("maxresults")
	if v == "" {
		return 25, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 25 {
		return 0, badParameter("maxresults must be 1 to 25.")
	}
	return n, nil
}

func skipToken(q url.Values) (string, *Error) {
	t := q.Get("$skiptoken")
	if t == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return "", badParameter("The $skiptoken is not valid.")
	}
	return string(b), nil
}

// nextLink continues a listing after `after`.
func (o *op) nextLink(path, after string, n int) *string {
	q := url.Values{}
	q.Set("api-version", o.query.Get("api-version"))
	if q.Get("api-version") == "" {
		q.Set("api-version", "7.6")
	}
	q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(after)))
	q.Set("maxresults", strconv.Itoa(n))
	l := o.base + path + "?" + q.Encode()
	return &l
}

// scanHeads walks the vault's keys in name order after `after`, calling fn
// with each head until fn returns false.
func (s *Service) scanHeads(vault, after string, fn func(tx *sse.Tx, name string, h *headRecord) (bool, error)) error {
	var start []byte
	if after != "" {
		start = headKey(vault, after)
	}
	return s.db.View(func(tx *sse.Tx) error {
		err := tx.Scan(headPrefix(vault), start, func(k, v []byte) error {
			var h headRecord
			if err := jsonUnmarshal(v, &h); err != nil {
				return err
			}
			lower := strings.TrimPrefix(string(k), string(headPrefix(vault)))
			more, err := fn(tx, lower, &h)
			if err != nil {
				return err
			}
			if !more {
				return sse.ErrStop
			}
			return nil
		})
		if err == sse.ErrStop {
			return nil
		}
		return err
	})
}

// versionMeta reads a version's record without keeping its material.
func versionMeta(tx *sse.Tx, vault, name, version string) (versionRecord, error) {
	var rec versionRecord
	_, err := getJSON(tx, versionKey(vault, name, version), &rec)
	clear(rec.Material)
	rec.Material = nil
	return rec, err
}

func (s *Service) listKeys(o *op, _ []byte) (any, error) {
	return s.listHeads(o, false, "/keys")
}

func (s *Service) listDeletedKeys(o *op, _ []byte) (any, error) {
	return s.listHeads(o, true, "/deletedkeys")
}

func (s *Service) listHeads(o *op, deleted bool, path string) (any, error) {
	n, e := pageSize(o.query)
	if e != nil {
		return nil, e
	}
	after, e := skipToken(o.query)
	if e != nil {
		return nil, e
	}
	res := listResult{Value: []keyItem{}}
	var last string
	err := s.scanHeads(o.vault.Name, after, func(tx *sse.Tx, lower string, h *headRecord) (bool, error) {
		if (h.Deleted != nil) != deleted {
			return true, nil
		}
		if len(res.Value) == n {
			res.NextLink = o.nextLink(path, last, n)
			return false, nil
		}
		rec, err := versionMeta(tx, o.vault.Name, lower, h.latest())
		if err != nil {
			return false, err
		}
		it := keyItem{KID: o.kid(h.Name, ""), Attributes: s.attributes(o.vault, &rec), Tags: rec.Tags}
		if deleted {
			it.RecoveryID = o.base + "/deletedkeys/" + h.Name
			it.DeletedDate, it.ScheduledPurgeDate = h.Deleted.Date.Unix(), h.Deleted.PurgeDate.Unix()
		}
		res.Value = append(res.Value, it)
		last = lower
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Service) listVersions(o *op, _ []byte) (any, error) {
	n, e := pageSize(o.query)
	if e != nil {
		return nil, e
	}
	after, e := skipToken(o.query)
	if e != nil {
		return nil, e
	}
	h, e := s.loadHead(o, false)
	if e != nil {
		return nil, e
	}
	start := 0
	if after != "" {
		i, err := strconv.Atoi(after)
		if err != nil || i < 0 || i > len(h.Versions) {
			return nil, badParameter("The $skiptoken is not valid.")
		}
		start = i
	}
	res := listResult{Value: []keyItem{}}
	err := s.db.View(func(tx *sse.Tx) error {
		for i := start; i < len(h.Versions); i++ {
			if len(res.Value) == n {
				res.NextLink = o.nextLink("/keys/"+h.Name+"/versions", strconv.Itoa(i), n)
				break
			}
			rec, err := versionMeta(tx, o.vault.Name, o.key, h.Versions[i])
			if err != nil {
				return err
			}
			res.Value = append(res.Value, keyItem{KID: o.kid(h.Name, rec.Version), Attributes: s.attributes(o.vault, &rec), Tags: rec.Tags})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
