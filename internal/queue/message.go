package queue

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// messageTarget reads the message id from the path and the pop receipt
// from the query; together they name the message's record.
func messageTarget(r *edge.Request) (key []byte, id uuid.UUID, nonce []byte, err error) {
	if err := validName(r.Container); err != nil {
		return nil, id, nil, err
	}
	receipt := r.URL.Query().Get("popreceipt")
	if receipt == "" {
		return nil, id, nil, errMissingQuery.With("A query parameter that's mandatory for this request is not specified.\nQueryParameterName:popreceipt")
	}
	id, err = uuid.Parse(strings.TrimPrefix(r.Object, "messages/"))
	if err != nil {
		return nil, id, nil, errMessageNotFound
	}
	visible, nonce, ok := parsePopReceipt(receipt)
	if !ok {
		return nil, id, nil, edge.ErrInvalidQueryParameter.With("Value for one of the query parameters specified in the request URI is invalid.\nQueryParameterName:popreceipt\nQueryParameterValue:%s", receipt)
	}
	return msgKey(r.Account.Name, r.Container, visible, id), id, nonce, nil
}

// loadMessage opens the message a receipt names. A receipt from before the
// message's last dequeue or update names a key that no longer exists: the
// message is not found, as in Azure.
func loadMessage(tx *sse.Tx, acct, q string, key, nonce []byte, now int64) (messageRec, error) {
	var rec messageRec
	if !tx.Has(queueKey(acct, q)) {
		return rec, errQueueNotFound
	}
	if err := getJSON(tx, key, &rec); err != nil {
		return rec, mapStoreErr(err, errMessageNotFound)
	}
	if rec.expired(now) {
		return rec, errMessageNotFound
	}
	if !bytes.Equal(rec.Receipt, nonce) {
		return rec, errPopReceiptMismatch
	}
	return rec, nil
}

// updateMessage sets a message's visibility timeout and, with a body, its
// text; it answers the new pop receipt.
func (s *Service) updateMessage(w http.ResponseWriter, r *edge.Request) error {
	key, id, nonce, err := messageTarget(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("visibilitytimeout") == "" {
		return errMissingQuery.With("A query parameter that's mandatory for this request is not specified.\nQueryParameterName:visibilitytimeout")
	}
	vis, err := intParam(r, "visibilitytimeout", 0, 0, int64(maxVisibility/time.Second))
	if err != nil {
		return err
	}
	text, err := readMessageText(r, false)
	if err != nil {
		return err
	}
	kek, err := s.kek(r.Account.Name)
	if err != nil {
		return err
	}
	acct, q := r.Account.Name, r.Container
	var visible int64
	var receipt string
	err = s.db.Update(func(tx *sse.Tx) error {
		now := s.now().UnixNano()
		rec, err := loadMessage(tx, acct, q, key, nonce, now)
		if err != nil {
			return err
		}
		if text != nil {
			rec.Text = *text
		}
		rec.Receipt = newReceiptNonce()
		visible = now + int64(seconds(vis))
		receipt = popReceipt(visible, rec.Receipt)
		if err := tx.Delete(key); err != nil {
			return err
		}
		return putJSON(tx, msgKey(acct, q, visible, id), rec, kek)
	})
	if err != nil {
		return mapStoreErr(err, nil)
	}
	h := w.Header()
	h.Set("x-ms-popreceipt", receipt)
	h.Set("x-ms-time-next-visible", httpTime(visible))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) deleteMessage(w http.ResponseWriter, r *edge.Request) error {
	key, _, nonce, err := messageTarget(r)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *sse.Tx) error {
		if _, err := loadMessage(tx, r.Account.Name, r.Container, key, nonce, s.now().UnixNano()); err != nil {
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
