package queue

import (
	"encoding/xml"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// messageIn is the request body of Put Message and Update Message.
type messageIn struct {
	XMLName xml.Name `xml:"QueueMessage"`
	Text    *string  `xml:"MessageText"`
}

type messageList struct {
	XMLName  xml.Name     `xml:"QueueMessagesList"`
	Messages []messageOut `xml:"QueueMessage"`
}

// messageOut is one message in a response; which fields appear depends on
// the operation (Put: no text or count; Peek: no receipt or visibility).
type messageOut struct {
	ID              string  `xml:"MessageId"`
	InsertionTime   string  `xml:"InsertionTime"`
	ExpirationTime  string  `xml:"ExpirationTime"`
	PopReceipt      string  `xml:"PopReceipt,omitempty"`
	TimeNextVisible string  `xml:"TimeNextVisible,omitempty"`
	DequeueCount    *int    `xml:"DequeueCount,omitempty"`
	Text            *string `xml:"MessageText,omitempty"`
}

// readMessageText parses a QueueMessage body. An empty body is no text
// (allowed by Update Message); a document without MessageText is invalid.
func readMessageText(r *edge.Request, required bool) (*string, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 && !required {
		return nil, nil
	}
	var in messageIn
	if err := xml.Unmarshal(body, &in); err != nil || in.Text == nil {
		return nil, edge.ErrInvalidXML
	}
	if len(*in.Text) > maxMessageText {
		return nil, errMessageTooLarge.With("The request body is too large and exceeds the maximum permissible limit.\nMaxLimit:%d", maxMessageText)
	}
	if !utf8.ValidString(*in.Text) {
		return nil, edge.ErrInvalidXML
	}
	return in.Text, nil
}

func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }

// putMessage adds a message, visible after visibilitytimeout and expiring
// after messagettl (-1: never).
func (s *Service) putMessage(w http.ResponseWriter, r *edge.Request) error {
	if err := validName(r.Container); err != nil {
		return err
	}
	vis, err := intParam(r, "visibilitytimeout", 0, 0, int64(maxVisibility/time.Second))
	if err != nil {
		return err
	}
	ttl, err := intParam(r, "messagettl", int64(defaultTTL/time.Second), -1, 1<<62/int64(time.Second))
	if err != nil {
		return err
	}
	if ttl == 0 {
		return edge.ErrInvalidQueryParameter.With("Value must be greater than or equal to 1, or -1 to indicate an infinite TTL.\nQueryParameterName:messagettl\nQueryParameterValue:0")
	}
	if ttl != -1 && vis >= ttl {
		return edge.ErrInvalidQueryParameter.With("messagettl must be greater than visibilitytimeout.\nQueryParameterName:visibilitytimeout\nQueryParameterValue:%d", vis)
	}
	text, err := readMessageText(r, true)
	if err != nil {
		return err
	}
	kek, err := s.kek(r.Account.Name)
	if err != nil {
		return err
	}
	id := uuid.New()
	now := s.now().UnixNano()
	rec := messageRec{Text: *text, Inserted: now, Expires: neverExpires, Receipt: newReceiptNonce()}
	if ttl != -1 && now < neverExpires-int64(seconds(ttl)) {
		rec.Expires = now + int64(seconds(ttl))
	}
	visible := now + int64(seconds(vis))
	err = s.db.Update(func(tx *sse.Tx) error {
		if !tx.Has(queueKey(r.Account.Name, r.Container)) {
			return errQueueNotFound
		}
		return putJSON(tx, msgKey(r.Account.Name, r.Container, visible, id), rec, kek)
	})
	if err != nil {
		return mapStoreErr(err, nil)
	}
	return writeXML(w, http.StatusCreated, messageList{Messages: []messageOut{{
		ID: id.String(), InsertionTime: httpTime(rec.Inserted), ExpirationTime: httpTime(rec.Expires),
		PopReceipt: popReceipt(visible, rec.Receipt), TimeNextVisible: httpTime(visible),
	}}})
}

// visibleMessage is a message found at the front of a queue.
type visibleMessage struct {
	key []byte
	id  uuid.UUID
	rec messageRec
}

// frontMessages collects up to n visible, unexpired messages from the
// front of a queue, and the keys of expired ones passed on the way.
func frontMessages(tx *sse.Tx, acct, q string, n int, now int64) (found []visibleMessage, expired [][]byte, err error) {
	err = tx.Scan(msgPrefix(acct, q), nil, func(k, v []byte) error {
		visible, id := splitMsgKey(k)
		if visible > now {
			return sse.ErrStop
		}
		m := visibleMessage{key: append([]byte(nil), k...), id: id}
		if err := decode(k, v, &m.rec); err != nil {
			return err
		}
		if m.rec.expired(now) {
			expired = append(expired, m.key)
			return nil
		}
		found = append(found, m)
		if len(found) == n {
			return sse.ErrStop
		}
		return nil
	})
	return found, expired, err
}

// getMessages dequeues up to numofmessages visible messages, hiding each
// for visibilitytimeout and giving it a new pop receipt; with
// peekonly=true it only reads them.
func (s *Service) getMessages(w http.ResponseWriter, r *edge.Request) error {
	if err := validName(r.Container); err != nil {
		return err
	}
	n, err := intParam(r, "numofmessages", 1, 1, maxPerRequest)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("peekonly") == "true" {
		return s.peekMessages(w, r, int(n))
	}
	vis, err := intParam(r, "visibilitytimeout", 30, 1, int64(maxVisibility/time.Second))
	if err != nil {
		return err
	}
	kek, err := s.kek(r.Account.Name)
	if err != nil {
		return err
	}
	acct, q := r.Account.Name, r.Container
	var out messageList
	err = s.db.Update(func(tx *sse.Tx) error {
		out.Messages = out.Messages[:0]
		if !tx.Has(queueKey(acct, q)) {
			return errQueueNotFound
		}
		now := s.now().UnixNano()
		found, expired, err := frontMessages(tx, acct, q, int(n), now)
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		visible := now + int64(seconds(vis))
		for _, m := range found {
			m.rec.Dequeues++
			m.rec.Receipt = newReceiptNonce()
			if err := tx.Delete(m.key); err != nil {
				return err
			}
			if err := putJSON(tx, msgKey(acct, q, visible, m.id), m.rec, kek); err != nil {
				return err
			}
			out.Messages = append(out.Messages, messageOut{
				ID: m.id.String(), InsertionTime: httpTime(m.rec.Inserted), ExpirationTime: httpTime(m.rec.Expires),
				PopReceipt: popReceipt(visible, m.rec.Receipt), TimeNextVisible: httpTime(visible),
				DequeueCount: &m.rec.Dequeues, Text: &m.rec.Text,
			})
		}
		return nil
	})
	if err != nil {
		return mapStoreErr(err, nil)
	}
	return writeXML(w, http.StatusOK, out)
}

func (s *Service) peekMessages(w http.ResponseWriter, r *edge.Request, n int) error {
	var out messageList
	err := s.db.View(func(tx *sse.Tx) error {
		if !tx.Has(queueKey(r.Account.Name, r.Container)) {
			return errQueueNotFound
		}
		found, _, err := frontMessages(tx, r.Account.Name, r.Container, n, s.now().UnixNano())
		for _, m := range found {
			out.Messages = append(out.Messages, messageOut{
				ID: m.id.String(), InsertionTime: httpTime(m.rec.Inserted), ExpirationTime: httpTime(m.rec.Expires),
				DequeueCount: &m.rec.Dequeues, Text: &m.rec.Text,
			})
		}
		return err
	})
	if err != nil {
		return mapStoreErr(err, nil)
	}
	return writeXML(w, http.StatusOK, out)
}

func (s *Service) clearMessages(w http.ResponseWriter, r *edge.Request) error {
	if err := validName(r.Container); err != nil {
		return err
	}
	err := s.db.Update(func(tx *sse.Tx) error {
		if !tx.Has(queueKey(r.Account.Name, r.Container)) {
			return errQueueNotFound
		}
		return deleteAll(tx, msgPrefix(r.Account.Name, r.Container))
	})
	if err != nil {
		return mapStoreErr(err, nil)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
