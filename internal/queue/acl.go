package queue

import (
	"net/http"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// getQueueACL answers the queue's stored access policies.
func (s *Service) getQueueACL(w http.ResponseWriter, r *edge.Request) error {
	if err := validName(r.Container); err != nil {
		return err
	}
	rec, err := s.queueRecord(r.Account.Name, r.Container)
	if err != nil {
		return mapStoreErr(err, errQueueNotFound)
	}
	return edge.WriteSignedIdentifiers(w, rec.ACL)
}

// setQueueACL replaces the queue's stored access policies; a SAS naming
// one that is gone stops working at once.
func (s *Service) setQueueACL(w http.ResponseWriter, r *edge.Request) error {
	if err := validName(r.Container); err != nil {
		return err
	}
	ids, err := edge.ReadSignedIdentifiers(r.Body)
	if err != nil {
		return err
	}
	return s.updateQueue(w, r, func(rec *queueRec) { rec.ACL = ids })
}

// StoredPolicy finds a queue's stored access policy for service SAS.
func (s *Service) StoredPolicy(acct, q, id string) (*edge.StoredPolicy, error) {
	rec, err := s.queueRecord(acct, q)
	if err != nil {
		return nil, err
	}
	return edge.FindPolicy(rec.ACL, id), nil
}

func (s *Service) queueRecord(acct, q string) (queueRec, error) {
	var rec queueRec
	err := s.db.View(func(tx *sse.Tx) error { return getJSON(tx, queueKey(acct, q), &rec) })
	return rec, err
}
