package blob

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

func validContainerName(n string) bool {
	if n == "$root" || n == "$logs" || n == "$web" {
		return true
	}
	if len(n) < 3 || len(n) > 63 {
		return false
	}
	prevDash := false
	for i, c := range n {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			prevDash = false
		case c == '-':
			if i == 0 || i == len(n)-1 || prevDash {
				return false
			}
			prevDash = true
		default:
			return false
		}
	}
	return true
}

var errInvalidResourceName = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidResourceName", Message: "The specifed resource name contains invalid characters."}

// publicAccess reads a requested public access level; an account that
// disallows public access refuses any.
func publicAccess(r *edge.Request) (string, error) {
	switch v := r.Header.Get("x-ms-blob-public-access"); v {
	case "":
		return v, nil
	case "container", "blob":
		if r.Account.Switches.NoPublicAccess {
			return "", edge.ErrPublicAccessNotPermitted
		}
		return v, nil
	default:
		return "", edge.ErrInvalidHeaderValue.With("x-ms-blob-public-access must be container or blob.")
	}
}

func (s *Service) createContainer(w http.ResponseWriter, r *edge.Request) error {
	if !validContainerName(r.Container) {
		return errInvalidResourceName
	}
	meta, err := edge.Metadata(r.Header)
	if err != nil {
		return err
	}
	pub, err := publicAccess(r)
	if err != nil {
		return err
	}
	scope, deny, err := s.containerScope(r)
	if err != nil {
		return err
	}
	kek, err := s.kek(r.Account.Name)
	if err != nil {
		return err
	}
	t := now()
	rec := containerRec{Created: t, Modified: t, ETag: newETag(t), Metadata: meta, Public: pub,
		DefaultScope: scope, DenyOverride: deny}
	key := containerKey(r.Account.Name, r.Container)
	err = s.db.Update(func(tx *sse.Tx) error {
		var old containerRec
		switch err := getJSON(tx, key, &old); {
		case err == nil && old.Deleting:
			return errContainerBeingDeleted
		case err == nil:
			return errContainerExists
		case !errors.Is(err, sse.ErrNotFound):
			return mapStoreErr(err, nil)
		}
		return putJSON(tx, key, &rec, kek)
	})
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", rec.ETag)
	h.Set("Last-Modified", httpTime(t))
	w.WriteHeader(http.StatusCreated)
	return nil
}

// loadContainer reads a container record inside tx.
func loadContainer(tx *sse.Tx, acct, c string) (*containerRec, error) {
	var rec containerRec
	if err := getJSON(tx, containerKey(acct, c), &rec); err != nil {
		return nil, mapStoreErr(err, errContainerNotFound)
	}
	if rec.Deleting {
		return nil, errContainerNotFound
	}
	return &rec, nil
}

// container reads a container record in its own snapshot.
func (s *Service) container(acct, c string) (*containerRec, error) {
	var rec *containerRec
	err := s.db.View(func(tx *sse.Tx) error {
		var err error
		rec, err = loadContainer(tx, acct, c)
		return err
	})
	return rec, err
}

// anonymousAllowed enforces public access: blob-level access lets anonymous
// callers read blobs; container-level also lets them list and read the
// container's properties.
func anonymousAllowed(r *edge.Request, rec *containerRec, containerLevel bool) error {
	if !r.Anonymous {
		return nil
	}
	if rec.Public == "container" || (rec.Public == "blob" && !containerLevel) {
		return nil
	}
	return errPublicAccessNotPermit
}

func (s *Service) deleteContainer(w http.ResponseWriter, r *edge.Request) error {
	acct := r.Account.Name
	kek, err := s.kek(acct)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *sse.Tx) error {
		rec, err := loadContainer(tx, acct, r.Container)
		if err != nil {
			return err
		}
		if err := conditions(r.Request, true, rec.ETag, rec.Modified, false); err != nil {
			return err
		}
		if err := rec.Lease.check(r.Request, now(), true); err != nil {
			return err
		}
		rec.Deleting = true
		return putJSON(tx, containerKey(acct, r.Container), rec, kek)
	})
	if err != nil {
		return err
	}
	// The container is gone for every caller now; its blobs go in batches,
	// then its name is freed.
	s.purgeContainer(acct, r.Container)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// ResumePurges finishes deleting containers whose deletion a crash cut
// short. Run it before serving.
func (s *Service) ResumePurges() error {
	type pending struct{ acct, c string }
	var todo []pending
	err := s.db.View(func(tx *sse.Tx) error {
		return tx.Scan([]byte("c\x00"), nil, func(k, v []byte) error {
			var rec containerRec
			if jsonDecode(v, &rec) == nil && rec.Deleting {
				parts := strings.SplitN(string(k), "\x00", 3)
				todo = append(todo, pending{parts[1], parts[2]})
			}
			return nil
		})
	})
	for _, p := range todo {
		s.purgeContainer(p.acct, p.c)
	}
	return err
}

// purgeContainer deletes every blob and uncommitted block of a container
// being deleted, a batch per transaction, and then the container record.
func (s *Service) purgeContainer(acct, c string) {
	defer func() {
		if err := s.db.Update(func(tx *sse.Tx) error { return tx.Delete(containerKey(acct, c)) }); err != nil {
			s.log.Error("freeing a deleted container's name", "container", c, "err", err)
		}
	}()
	for _, prefix := range [][]byte{blobPrefix(acct, c), uncommittedPrefix(acct, c)} {
		for {
			type item struct {
				key []byte
				ids []string
			}
			var batch []item
			err := s.db.View(func(tx *sse.Tx) error {
				return tx.Scan(prefix, nil, func(k, v []byte) error {
					it := item{key: append([]byte(nil), k...)}
					var b blobRec
					var u uncommittedRec
					if prefix[0] == 'b' {
						if jsonDecode(v, &b) == nil {
							it.ids = b.extents()
						}
					} else if jsonDecode(v, &u) == nil {
						it.ids = []string{u.Ext.ID}
					}
					batch = append(batch, it)
					if len(batch) == 256 {
						return sse.ErrStop
					}
					return nil
				})
			})
			if err != nil || len(batch) == 0 {
				if err != nil {
					s.log.Error("purging a deleted container", "container", c, "err", err)
				}
				break
			}
			if err := s.db.Update(func(tx *sse.Tx) error {
				for _, it := range batch {
					if err := tx.Delete(it.key); err != nil {
						return err
					}
					if err := tx.Retarget(it.ids, nil); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				s.log.Error("purging a deleted container", "container", c, "err", err)
				return
			}
		}
	}
}

func (s *Service) containerProperties(w http.ResponseWriter, r *edge.Request) error {
	rec, err := s.container(r.Account.Name, r.Container)
	if err != nil {
		return err
	}
	if err := anonymousAllowed(r, rec, true); err != nil {
		return err
	}
	t := now()
	if r.Header.Get("x-ms-lease-id") != "" {
		if err := rec.Lease.check(r.Request, t, true); err != nil {
			return err
		}
	}
	h := w.Header()
	h.Set("ETag", rec.ETag)
	h.Set("Last-Modified", httpTime(rec.Modified))
	edge.WriteMetadata(h, rec.Metadata)
	if r.Route.Comp == "" {
		rec.Lease.writeHeaders(h, t)
		if rec.Public != "" {
			h.Set("x-ms-blob-public-access", rec.Public)
		}
		h.Set("x-ms-has-immutability-policy", "false")
		h.Set("x-ms-has-legal-hold", "false")
		h.Set("x-ms-default-encryption-scope", defaultScope(rec))
		h.Set("x-ms-deny-encryption-scope-override", boolStr(rec.DenyOverride))
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func defaultScope(rec *containerRec) string {
	if rec.DefaultScope == "" {
		return "$account-encryption-key"
	}
	return rec.DefaultScope
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// updateContainer applies fn to a container record under its conditions.
func (s *Service) updateContainer(r *edge.Request, checkLease bool, fn func(rec *containerRec, t time.Time) error) (*containerRec, error) {
	kek, err := s.kek(r.Account.Name)
	if err != nil {
		return nil, err
	}
	key := containerKey(r.Account.Name, r.Container)
	var out *containerRec
	err = s.db.Update(func(tx *sse.Tx) error {
		rec, err := loadContainer(tx, r.Account.Name, r.Container)
		if err != nil {
			return err
		}
		if err := conditions(r.Request, true, rec.ETag, rec.Modified, false); err != nil {
			return err
		}
		t := now()
		if checkLease {
			if err := rec.Lease.check(r.Request, t, true); err != nil {
				return err
			}
		}
		if err := fn(rec, t); err != nil {
			return err
		}
		out = rec
		return putJSON(tx, key, rec, kek)
	})
	return out, err
}

func (s *Service) setContainerMetadata(w http.ResponseWriter, r *edge.Request) error {
	meta, err := edge.Metadata(r.Header)
	if err != nil {
		return err
	}
	if r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Unmodified-Since") != "" {
		return edge.ErrInvalidHeaderValue.With("Set Container Metadata accepts only If-Modified-Since.")
	}
	rec, err := s.updateContainer(r, r.Header.Get("x-ms-lease-id") != "", func(rec *containerRec, t time.Time) error {
		rec.Metadata = meta
		rec.Modified = t
		rec.ETag = newETag(t)
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("ETag", rec.ETag)
	w.Header().Set("Last-Modified", httpTime(rec.Modified))
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) getContainerACL(w http.ResponseWriter, r *edge.Request) error {
	rec, err := s.container(r.Account.Name, r.Container)
	if err != nil {
		return err
	}
	if r.Header.Get("x-ms-lease-id") != "" {
		if err := rec.Lease.check(r.Request, now(), true); err != nil {
			return err
		}
	}
	h := w.Header()
	h.Set("ETag", rec.ETag)
	h.Set("Last-Modified", httpTime(rec.Modified))
	if rec.Public != "" {
		h.Set("x-ms-blob-public-access", rec.Public)
	}
	return edge.WriteSignedIdentifiers(w, rec.ACL)
}

func (s *Service) setContainerACL(w http.ResponseWriter, r *edge.Request) error {
	pub, err := publicAccess(r)
	if err != nil {
		return err
	}
	ids, err := edge.ReadSignedIdentifiers(r.Body)
	if err != nil {
		return err
	}
	rec, err := s.updateContainer(r, r.Header.Get("x-ms-lease-id") != "", func(rec *containerRec, t time.Time) error {
		rec.Public = pub
		rec.ACL = ids
		rec.Modified = t
		rec.ETag = newETag(t)
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("ETag", rec.ETag)
	w.Header().Set("Last-Modified", httpTime(rec.Modified))
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) leaseContainer(w http.ResponseWriter, r *edge.Request) error {
	var res leaseResult
	rec, err := s.updateContainer(r, false, func(rec *containerRec, t time.Time) error {
		var err error
		res, err = rec.Lease.apply(r.Request, t)
		return err
	})
	if err != nil {
		return err
	}
	writeLeaseResult(w, res, rec.ETag, rec.Modified)
	return nil
}

func writeXML(w http.ResponseWriter, status int, v any) error {
	out, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	_, err = w.Write(out)
	return err
}
