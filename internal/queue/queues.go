package queue

import (
	"encoding/xml"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// createQueue answers 201 for a new queue and 204 when the queue exists
// with the same metadata; different metadata is 409 QueueAlreadyExists.
func (s *Service) createQueue(w http.ResponseWriter, r *edge.Request) error {
	if err := validName(r.Container); err != nil {
		return err
	}
	meta, err := edge.Metadata(r.Header)
	if err != nil {
		return err
	}
	kek, err := s.kek(r.Account.Name)
	if err != nil {
		return err
	}
	key := queueKey(r.Account.Name, r.Container)
	status := http.StatusCreated
	err = s.db.Update(func(tx *sse.Tx) error {
		status = http.StatusCreated
		var cur queueRec
		switch err := getJSON(tx, key, &cur); {
		case err == nil:
			if !maps.Equal(cur.Metadata, meta) {
				return errQueueExists
			}
			status = http.StatusNoContent
			return nil
		case !errors.Is(err, sse.ErrNotFound):
			return err
		}
		return putJSON(tx, key, queueRec{Created: s.now().UnixNano(), Metadata: meta}, kek)
	})
	if err != nil {
		return mapStoreErr(err, nil)
	}
	w.WriteHeader(status)
	return nil
}

// deleteQueue removes a queue and all its messages in one transaction.
func (s *Service) deleteQueue(w http.ResponseWriter, r *edge.Request) error {
	if err := validName(r.Container); err != nil {
		return err
	}
	key := queueKey(r.Account.Name, r.Container)
	err := s.db.Update(func(tx *sse.Tx) error {
		if !tx.Has(key) {
			return errQueueNotFound
		}
		if err := deleteAll(tx, msgPrefix(r.Account.Name, r.Container)); err != nil {
			return err
		}
		return tx.Delete(key)
	})
	if err != nil {
		return mapStoreErr(err, nil)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteAll removes every record under prefix. Keys are gathered first:
// the store's cursors do not survive writes to the range they walk.
func deleteAll(tx *sse.Tx, prefix []byte) error {
	var keys [][]byte
	if err := tx.ScanKeys(prefix, nil, func(k []byte) error {
		keys = append(keys, append([]byte(nil), k...))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) getQueueMetadata(w http.ResponseWriter, r *edge.Request) error {
	if err := validName(r.Container); err != nil {
		return err
	}
	var rec queueRec
	count := 0
	err := s.db.View(func(tx *sse.Tx) error {
		if err := getJSON(tx, queueKey(r.Account.Name, r.Container), &rec); err != nil {
			return err
		}
		// approximate, as Azure's: expired messages not yet removed count too
		return tx.ScanKeys(msgPrefix(r.Account.Name, r.Container), nil, func([]byte) error { count++; return nil })
	})
	if err != nil {
		return mapStoreErr(err, errQueueNotFound)
	}
	h := w.Header()
	edge.WriteMetadata(h, rec.Metadata)
	h.Set("x-ms-approximate-messages-count", strconv.Itoa(count))
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) setQueueMetadata(w http.ResponseWriter, r *edge.Request) error {
	if err := validName(r.Container); err != nil {
		return err
	}
	meta, err := edge.Metadata(r.Header)
	if err != nil {
		return err
	}
	return s.updateQueue(w, r, func(rec *queueRec) { rec.Metadata = meta })
}

// updateQueue changes the request's queue record and answers 204.
func (s *Service) updateQueue(w http.ResponseWriter, r *edge.Request, fn func(*queueRec)) error {
	kek, err := s.kek(r.Account.Name)
	if err != nil {
		return err
	}
	key := queueKey(r.Account.Name, r.Container)
	err = s.db.Update(func(tx *sse.Tx) error {
		var rec queueRec
		if err := getJSON(tx, key, &rec); err != nil {
			return err
		}
		fn(&rec)
		return putJSON(tx, key, rec, kek)
	})
	if err != nil {
		return mapStoreErr(err, errQueueNotFound)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type queueList struct {
	XMLName         xml.Name    `xml:"EnumerationResults"`
	ServiceEndpoint string      `xml:"ServiceEndpoint,attr"`
	Prefix          string      `xml:"Prefix"`
	Marker          string      `xml:"Marker,omitempty"`
	MaxResults      int         `xml:"MaxResults"`
	Queues          []queueItem `xml:"Queues>Queue"`
	NextMarker      string      `xml:"NextMarker"`
}

type queueItem struct {
	Name     string    `xml:"Name"`
	Metadata *metadata `xml:"Metadata"`
}

// metadata renders a map as <name>value</name> elements.
type metadata map[string]string

func (m metadata) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// listQueues pages through the account's queues in name order. The marker
// is the last name of the previous page; the next page starts after it.
func (s *Service) listQueues(w http.ResponseWriter, r *edge.Request) error {
	q := r.URL.Query()
	prefix, marker := q.Get("prefix"), q.Get("marker")
	max, err := intParam(r, "maxresults", maxListResults, 1, 1<<31-1)
	if err != nil {
		return err
	}
	max = min(max, maxListResults)
	withMeta := false
	for _, inc := range strings.Split(q.Get("include"), ",") {
		withMeta = withMeta || strings.TrimSpace(inc) == "metadata"
	}
	out := queueList{ServiceEndpoint: serviceEndpoint(r), Prefix: prefix, Marker: marker, MaxResults: int(max)}
	base := queuePrefix(r.Account.Name)
	var after []byte
	if marker != "" {
		after = append(append([]byte(nil), base...), marker...)
	}
	visit := func(k, v []byte) error {
		if len(out.Queues) == int(max) {
			out.NextMarker = out.Queues[len(out.Queues)-1].Name
			return sse.ErrStop
		}
		item := queueItem{Name: string(k[len(base):])}
		if withMeta {
			var rec queueRec
			if err := decode(k, v, &rec); err != nil {
				return err
			}
			m := metadata(rec.Metadata)
			item.Metadata = &m
		}
		out.Queues = append(out.Queues, item)
		return nil
	}
	scanPrefix := append(append([]byte(nil), base...), prefix...)
	err = s.db.View(func(tx *sse.Tx) error {
		out.Queues, out.NextMarker = out.Queues[:0], ""
		if withMeta {
			return tx.Scan(scanPrefix, after, visit)
		}
		return tx.ScanKeys(scanPrefix, after, func(k []byte) error { return visit(k, nil) })
	})
	if err != nil {
		return mapStoreErr(err, nil)
	}
	return writeXML(w, http.StatusOK, out)
}
