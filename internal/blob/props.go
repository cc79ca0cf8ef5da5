package blob

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// updateBlob changes the live blob in one transaction: conditions and lease
// are checked, fn edits the record, references follow its extents.
// Adopted extents join the transaction.
func (s *Service) updateBlob(r *edge.Request, checkLease bool, fn func(rec *blobRec, t time.Time) error, adopt ...*sse.Extent) (*blobRec, error) {
	if r.URL.Query().Get("snapshot") != "" {
		return nil, errSnapshotOpNotSupported
	}
	acct, c, name := r.Account.Name, r.Container, r.Object
	kek, err := s.kek(acct)
	if err != nil {
		return nil, err
	}
	key := blobKey(acct, c, name, "")
	var out *blobRec
	err = s.db.Update(func(tx *sse.Tx) error {
		if _, err := loadContainer(tx, acct, c); err != nil {
			return err
		}
		var rec blobRec
		if err := getJSON(tx, key, &rec); err != nil {
			return mapStoreErr(err, errBlobNotFound)
		}
		if err := conditions(r.Request, true, rec.ETag, rec.Modified, false); err != nil {
			return err
		}
		t := now()
		if checkLease {
			if err := rec.Lease.check(r.Request, t, false); err != nil {
				return err
			}
		}
		old := rec.extents()
		if err := fn(&rec, t); err != nil {
			return err
		}
		for _, e := range adopt {
			if err := tx.Adopt(e, kek); err != nil {
				return err
			}
		}
		if err := tx.Retarget(old, rec.extents()); err != nil {
			return err
		}
		out = &rec
		return putJSON(tx, key, &rec, kek)
	})
	return out, err
}

func touch(rec *blobRec, t time.Time) {
	rec.Modified = t
	rec.ETag = newETag(t)
}

func (s *Service) setBlobProperties(w http.ResponseWriter, r *edge.Request) error {
	ch, err := contentHeadersFrom(r.Header, false)
	if err != nil {
		return err
	}
	newSize, resize, err := parseInt(r.Header, "x-ms-blob-content-length")
	if err != nil {
		return err
	}
	seqAction := r.Header.Get("x-ms-sequence-number-action")
	seq, seqSet, err := parseInt(r.Header, "x-ms-blob-sequence-number")
	if err != nil {
		return err
	}
	rec, err := s.updateBlob(r, true, func(rec *blobRec, t time.Time) error {
		if resize || seqAction != "" {
			if rec.Type != "PageBlob" {
				return errInvalidBlobType
			}
			if err := pageSeqConditions(r.Request, rec); err != nil {
				return err
			}
		}
		if resize {
			if newSize%512 != 0 {
				return edge.ErrInvalidHeaderValue.With("x-ms-blob-content-length must be a multiple of 512.")
			}
			rec.Pages = cutPages(rec.Pages, newSize, 1<<62)
			rec.Size = newSize
		}
		switch seqAction {
		case "":
		case "max":
			if !seqSet {
				return edge.ErrMissingHeader.With("x-ms-blob-sequence-number is required.")
			}
			rec.SeqNum = max(rec.SeqNum, seq)
		case "update":
			if !seqSet {
				return edge.ErrMissingHeader.With("x-ms-blob-sequence-number is required.")
			}
			rec.SeqNum = seq
		case "increment":
			if seqSet {
				return edge.ErrInvalidHeaderValue.With("x-ms-blob-sequence-number must not be sent with increment.")
			}
			rec.SeqNum++
		default:
			return edge.ErrInvalidHeaderValue.With("x-ms-sequence-number-action %q is not valid.", seqAction)
		}
		if !resize && seqAction == "" {
			rec.Headers = ch
		}
		touch(rec, t)
		return nil
	})
	if err != nil {
		return err
	}
	if rec.Type == "PageBlob" {
		w.Header().Set("x-ms-blob-sequence-number", strconv.FormatInt(rec.SeqNum, 10))
	}
	writeResult(w, http.StatusOK, rec.ETag, rec, nil)
	return nil
}

func (s *Service) setBlobMetadata(w http.ResponseWriter, r *edge.Request) error {
	meta, err := edge.Metadata(r.Header)
	if err != nil {
		return err
	}
	cur, err := s.readBlobRecForWrite(r, "")
	if err != nil {
		return err
	}
	k, err := s.keysFor(r, true, cur)
	if err != nil {
		return err
	}
	rec, err := s.updateBlob(r, true, func(rec *blobRec, t time.Time) error {
		if err := matchCPK(rec.CPK, k.cpk); err != nil {
			return err
		}
		if err := matchScope(rec.Scope, k.scope); err != nil {
			return err
		}
		if err := rec.setMetadata(k, r.Account.Name, r.Container, r.Object, meta); err != nil {
			return err
		}
		touch(rec, t)
		return nil
	})
	if err != nil {
		return err
	}
	writeResult(w, http.StatusOK, rec.ETag, rec, nil)
	return nil
}

func (s *Service) setTier(w http.ResponseWriter, r *edge.Request) error {
	tier, err := tierFrom(r.Header.Get("x-ms-access-tier"))
	if err != nil || tier == "" {
		return edge.ErrInvalidHeaderValue.With("x-ms-access-tier is not valid.")
	}
	_, err = s.updateBlob(r, true, func(rec *blobRec, t time.Time) error {
		if rec.Type != "BlockBlob" {
			return errInvalidBlobType
		}
		rec.Tier, rec.TierChanged = tier, t
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) leaseBlob(w http.ResponseWriter, r *edge.Request) error {
	var res leaseResult
	rec, err := s.updateBlob(r, false, func(rec *blobRec, t time.Time) error {
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

func (s *Service) snapshotBlob(w http.ResponseWriter, r *edge.Request) error {
	meta, err := edge.Metadata(r.Header)
	if err != nil {
		return err
	}
	acct, c, name := r.Account.Name, r.Container, r.Object
	cur, err := s.readBlobRecForWrite(r, "")
	if err != nil {
		return err
	}
	k, err := s.keysFor(r, true, cur)
	if err != nil {
		return err
	}
	kek := k.account
	var snap string
	var rec blobRec
	err = s.db.Update(func(tx *sse.Tx) error {
		if _, err := loadContainer(tx, acct, c); err != nil {
			return err
		}
		if err := getJSON(tx, blobKey(acct, c, name, ""), &rec); err != nil {
			return mapStoreErr(err, errBlobNotFound)
		}
		if err := conditions(r.Request, true, rec.ETag, rec.Modified, false); err != nil {
			return err
		}
		if err := matchCPK(rec.CPK, k.cpk); err != nil {
			return err
		}
		if err := matchScope(rec.Scope, k.scope); err != nil {
			return err
		}
		t := now()
		if r.Header.Get("x-ms-lease-id") != "" {
			if err := rec.Lease.check(r.Request, t, false); err != nil {
				return err
			}
		}
		snap = t.Format(snapshotT)
		for tx.Has(blobKey(acct, c, name, snap)) {
			t = t.Add(100 * time.Nanosecond)
			snap = t.Format(snapshotT)
		}
		cp := rec
		cp.Lease = leaseRec{}
		if meta != nil {
			if err := cp.setMetadata(k, acct, c, name, meta); err != nil {
				return err
			}
		}
		if err := tx.Retarget(nil, cp.extents()); err != nil {
			return err
		}
		return putJSON(tx, blobKey(acct, c, name, snap), &cp, kek)
	})
	if err != nil {
		return err
	}
	w.Header().Set("x-ms-snapshot", snap)
	writeResult(w, http.StatusCreated, rec.ETag, &rec, nil)
	return nil
}

func (s *Service) deleteBlob(w http.ResponseWriter, r *edge.Request) error {
	acct, c, name := r.Account.Name, r.Container, r.Object
	snapshot := r.URL.Query().Get("snapshot")
	mode := r.Header.Get("x-ms-delete-snapshots")
	if mode != "" && mode != "include" && mode != "only" {
		return edge.ErrInvalidHeaderValue.With("x-ms-delete-snapshots must be include or only.")
	}
	if snapshot != "" && mode != "" {
		return edge.ErrInvalidQueryParameter.With("x-ms-delete-snapshots is not allowed when deleting a snapshot.")
	}
	err := s.db.Update(func(tx *sse.Tx) error {
		if _, err := loadContainer(tx, acct, c); err != nil {
			return err
		}
		key := blobKey(acct, c, name, snapshot)
		var rec blobRec
		if err := getJSON(tx, key, &rec); err != nil {
			return mapStoreErr(err, errBlobNotFound)
		}
		if err := conditions(r.Request, true, rec.ETag, rec.Modified, false); err != nil {
			return err
		}
		if snapshot != "" {
			if err := tx.Retarget(rec.extents(), nil); err != nil {
				return err
			}
			return tx.Delete(key)
		}
		if err := rec.Lease.check(r.Request, now(), false); err != nil {
			return err
		}
		var snaps [][]byte
		var snapIDs [][]string
		prefix := blobVersionsPrefix(acct, c, name)
		err := tx.Scan(prefix, nil, func(k, v []byte) error {
			if strings.HasSuffix(string(k), "\x00"+baseSuffix) {
				return nil
			}
			var sr blobRec
			if err := jsonDecode(v, &sr); err != nil {
				return err
			}
			snaps = append(snaps, append([]byte(nil), k...))
			snapIDs = append(snapIDs, sr.extents())
			return nil
		})
		if err != nil {
			return err
		}
		if len(snaps) > 0 && mode == "" {
			return errSnapshotsPresent
		}
		if mode != "" {
			for i, k := range snaps {
				if err := tx.Retarget(snapIDs[i], nil); err != nil {
					return err
				}
				tx.Delete(k)
			}
		}
		if mode == "only" {
			return nil
		}
		uncommitted, err := dropUncommitted(tx, acct, c, name)
		if err != nil {
			return err
		}
		if err := tx.Retarget(append(rec.extents(), uncommitted...), nil); err != nil {
			return err
		}
		return tx.Delete(key)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (s *Service) abortCopy(w http.ResponseWriter, r *edge.Request) error {
	if r.Header.Get("x-ms-copy-action") != "abort" {
		return edge.ErrInvalidHeaderValue.With("x-ms-copy-action must be abort.")
	}
	// Copies on this server finish before Copy Blob answers.
	return &edge.Error{Status: http.StatusConflict, Code: "NoPendingCopyOperation", Message: "There is currently no pending copy operation."}
}

// copySource resolves x-ms-copy-source to a blob of this server.
func (s *Service) copySource(r *edge.Request) (acct, c, name, snap string, err error) {
	u, perr := url.Parse(r.Header.Get("x-ms-copy-source"))
	if perr != nil || u.Path == "" {
		return "", "", "", "", errInvalidCopySource
	}
	parts := strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 3)
	if len(parts) != 3 || parts[2] == "" {
		return "", "", "", "", errInvalidCopySource
	}
	return parts[0], parts[1], parts[2], u.Query().Get("snapshot"), nil
}

// copyBlob copies synchronously within the server. Extents are bound to
// their blob's name, so content is decrypted and re-encrypted for the copy.
func (s *Service) copyBlob(w http.ResponseWriter, r *edge.Request) error {
	srcAcct, srcC, srcName, srcSnap, err := s.copySource(r)
	if err != nil {
		return err
	}
	meta, err := edge.Metadata(r.Header)
	if err != nil {
		return err
	}
	tier, err := tierFrom(r.Header.Get("x-ms-access-tier"))
	if err != nil {
		return err
	}
	var src blobRec
	err = s.db.View(func(tx *sse.Tx) error {
		crec, err := loadContainer(tx, srcAcct, srcC)
		if err != nil {
			if errors.Is(err, errContainerNotFound) {
				return errCannotVerifyCopySource
			}
			return err
		}
		// Another account's blob is readable only through public access.
		if srcAcct != r.Account.Name && crec.Public == "" {
			return errCannotVerifyCopySource
		}
		return mapStoreErr(getJSON(tx, blobKey(srcAcct, srcC, srcName, srcSnap), &src), errCannotVerifyCopySource)
	})
	if err != nil {
		return err
	}
	if err := sourceConditions(r.Request, &src); err != nil {
		return err
	}
	if src.CPK != "" {
		// Copy Blob carries no source key, so such a source cannot be read.
		return errUsesCPK
	}
	if err := s.checkScope(srcAcct, src.Scope); err != nil {
		return err
	}
	k, err := s.keysFor(r, true, nil)
	if err != nil {
		return err
	}
	if k.cpk != "" {
		return errCPKWithScope.With("Copy Blob does not take a customer-provided key.")
	}
	kek := k.account
	if meta == nil {
		if meta, err = src.metadata(s.db, s.keys, &writeKeys{}, srcAcct, srcC, srcName); err != nil {
			return err
		}
	}
	t := now()
	rec := &blobRec{Type: src.Type, Created: t, Modified: t, ETag: newETag(t), Size: src.Size, Headers: src.Headers,
		SeqNum: src.SeqNum, Tier: tier}
	if err := rec.setMetadata(k, r.Account.Name, r.Container, r.Object, meta); err != nil {
		return err
	}
	var ext *sse.Extent
	if src.Size > 0 {
		ew, err := s.db.NewExtent(k.content, r.Account.Name, r.Container, r.Object)
		if err != nil {
			return err
		}
		if err := writeBlobContent(s.db, ew, srcAcct, srcC, srcName, &src, 0, src.Size, nil); err != nil {
			ew.Abort()
			return mapStoreErr(err, errCannotVerifyCopySource)
		}
		if ext, err = ew.Finish(); err != nil {
			return err
		}
		if rec.Type == "PageBlob" {
			rec.Pages = []page{{Start: 0, End: src.Size, Ext: ext.ExtentRef}}
		} else {
			rec.Blocks = []block{{ID: base64Block(0), Ext: ext.ExtentRef}}
		}
	}
	copyID := uuid.NewString()
	source := r.Header.Get("x-ms-copy-source")
	if u, err := url.Parse(source); err == nil {
		u.RawQuery = "" // never keep a SAS signature
		if srcSnap != "" {
			u.RawQuery = "snapshot=" + url.QueryEscape(srcSnap)
		}
		source = u.String()
	}
	rec.Copy = &copyInfo{ID: copyID, Source: source, Status: "success",
		Progress: strconv.FormatInt(src.Size, 10) + "/" + strconv.FormatInt(src.Size, 10), Completed: t}
	if err := s.commitBlob(r, rec, kek, ext); err != nil {
		if ext != nil {
			ext.Discard()
		}
		return err
	}
	h := w.Header()
	h.Set("x-ms-copy-id", copyID)
	h.Set("x-ms-copy-status", "success")
	writeResult(w, http.StatusAccepted, rec.ETag, rec, nil)
	return nil
}

// sourceConditions applies x-ms-source-if-* headers to the copy source.
func sourceConditions(r *http.Request, src *blobRec) error {
	h := http.Header{}
	for _, n := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if v := r.Header.Get("x-ms-source-" + strings.ToLower(n)); v != "" {
			h.Set(n, v)
		}
	}
	if len(h) == 0 {
		return nil
	}
	err := conditions(&http.Request{Header: h}, true, src.ETag, src.Modified, false)
	if err != nil {
		return &edge.Error{Status: http.StatusPreconditionFailed, Code: "SourceConditionNotMet", Message: "The source condition specified using HTTP conditional header(s) is not met."}
	}
	return nil
}

// base64Block is the id given to the single block of a copied blob.
func base64Block(i int) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%08d", i)))
}
