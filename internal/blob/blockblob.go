package blob

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// commitBlob replaces (or creates) the live blob with rec inside one
// transaction: conditions and lease are checked against the current blob,
// references move from old extents to new, and uncommitted blocks of the
// blob are dropped.
func (s *Service) commitBlob(r *edge.Request, rec *blobRec, kek sse.KEK, adopt *sse.Extent) error {
	acct, c, name := r.Account.Name, r.Container, r.Object
	key := blobKey(acct, c, name, "")
	return s.db.Update(func(tx *sse.Tx) error {
		if _, err := loadContainer(tx, acct, c); err != nil {
			return err
		}
		var old blobRec
		err := getJSON(tx, key, &old)
		exists := err == nil
		if err != nil && !errors.Is(err, sse.ErrNotFound) {
			return mapStoreErr(err, errBlobNotFound)
		}
		etag, mod := "", time.Time{}
		if exists {
			etag, mod = old.ETag, old.Modified
		}
		if err := conditions(r.Request, exists, etag, mod, false); err != nil {
			return err
		}
		var oldIDs []string
		if exists {
			if err := old.Lease.check(r.Request, rec.Modified, false); err != nil {
				return err
			}
			rec.Created = old.Created
			if old.Lease.locked(rec.Modified) || old.Lease.ID != "" {
				rec.Lease = old.Lease
			}
			oldIDs = old.extents()
		} else if r.Header.Get("x-ms-lease-id") != "" {
			return errBlobNotFound
		}
		uncommitted, err := dropUncommitted(tx, acct, c, name)
		if err != nil {
			return err
		}
		if adopt != nil {
			if err := tx.Adopt(adopt, kek); err != nil {
				return err
			}
		}
		if err := tx.Retarget(append(oldIDs, uncommitted...), rec.extents()); err != nil {
			return err
		}
		return putJSON(tx, key, rec, kek)
	})
}

// dropUncommitted deletes a blob's uncommitted block records and returns
// the extents they held.
func dropUncommitted(tx *sse.Tx, acct, c, name string) ([]string, error) {
	var keys [][]byte
	var ids []string
	err := tx.Scan(blockPrefix(acct, c, name), nil, func(k, v []byte) error {
		var u uncommittedRec
		if err := jsonDecode(v, &u); err != nil {
			return err
		}
		keys = append(keys, append([]byte(nil), k...))
		ids = append(ids, u.Ext.ID)
		return nil
	})
	for _, k := range keys {
		tx.Delete(k)
	}
	return ids, err
}

func (s *Service) putBlob(w http.ResponseWriter, r *edge.Request) error {
	switch t := r.Header.Get("x-ms-blob-type"); t {
	case "AppendBlob":
		return s.createAppendBlob(w, r)
	case "PageBlob":
		return s.createPageBlob(w, r)
	case "BlockBlob", "":
	default:
		return edge.ErrInvalidHeaderValue.With("x-ms-blob-type %q is not valid.", t)
	}
	rec, k, err := s.newBlobRec(r, "BlockBlob", true)
	if err != nil {
		return err
	}
	// A large body is not taken for a container that does not exist; a
	// small one is, and the commit finds the container missing just the same.
	if r.ContentLength > inlineCheckThreshold {
		if _, err := s.container(r.Account.Name, r.Container); err != nil {
			return err
		}
	}
	b, err := s.receive(r, r.Object, true, k.content)
	if err != nil {
		return err
	}
	if rec.Headers.MD5 == nil {
		rec.Headers.MD5 = b.md5
	}
	rec.Size, rec.Blocks = b.ext.Size, []block{{Ext: b.ext.ExtentRef}}
	if err := s.commitBlob(r, rec, k.account, b.ext); err != nil {
		b.ext.Discard()
		return err
	}
	writeResult(w, http.StatusCreated, rec.ETag, rec, b)
	return nil
}

// inlineCheckThreshold is the body size above which a write checks its
// container before reading the body.
const inlineCheckThreshold = 64 * kib

func validBlockID(id string) bool {
	b, err := base64.StdEncoding.DecodeString(id)
	return err == nil && len(b) > 0 && len(b) <= 64
}

func (s *Service) putBlock(w http.ResponseWriter, r *edge.Request) error {
	id := r.URL.Query().Get("blockid")
	if !validBlockID(id) {
		return errInvalidBlockID
	}
	acct, c, name := r.Account.Name, r.Container, r.Object
	var leased *blobRec
	err := s.db.View(func(tx *sse.Tx) error {
		if _, err := loadContainer(tx, acct, c); err != nil {
			return err
		}
		var b blobRec
		if getJSON(tx, blobKey(acct, c, name, ""), &b) == nil {
			leased = &b
		}
		return nil
	})
	if err != nil {
		return err
	}
	if leased != nil {
		if err := leased.Lease.check(r.Request, now(), false); err != nil {
			return err
		}
	}
	k, err := s.keysFor(r, true, nil)
	if err != nil {
		return err
	}
	b, err := s.receive(r, name, false, k.content)
	if err != nil {
		return err
	}
	key := blockKey(acct, c, name, id)
	err = s.db.Update(func(tx *sse.Tx) error {
		// a blob's staged blocks share one key: the first one's
		if err := tx.Scan(blockPrefix(acct, c, name), nil, func(_, v []byte) error {
			var first uncommittedRec
			if err := jsonDecode(v, &first); err != nil {
				return err
			}
			if err := matchCPK(first.CPK, k.cpk); err != nil {
				return err
			}
			if err := matchScope(first.Scope, k.scope); err != nil {
				return err
			}
			return sse.ErrStop
		}); err != nil {
			return err
		}
		var old []string
		var prev uncommittedRec
		if getJSON(tx, key, &prev) == nil {
			old = []string{prev.Ext.ID}
		}
		if err := tx.Adopt(b.ext, k.account); err != nil {
			return err
		}
		if err := tx.Retarget(old, []string{b.ext.ID}); err != nil {
			return err
		}
		return putJSON(tx, key, uncommittedRec{Ext: b.ext.ExtentRef, CPK: k.cpk, Scope: k.scope}, k.account)
	})
	if err != nil {
		b.ext.Discard()
		return err
	}
	h := w.Header()
	h.Set("x-ms-request-server-encrypted", "true")
	writeCPKHeader(h, k.cpk)
	writeScopeHeader(h, k.scope)
	if b.md5 != nil {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.md5))
	}
	if b.crc != nil {
		h.Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(b.crc))
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

type listedBlock struct {
	kind string // Committed, Uncommitted or Latest
	id   string
}

// parseBlockList reads <BlockList> keeping the order of its entries.
func parseBlockList(r io.Reader) ([]listedBlock, error) {
	dec := xml.NewDecoder(r)
	var out []listedBlock
	depth := 0
	sawRoot := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, edge.ErrInvalidXML
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if t.Name.Local != "BlockList" {
					return nil, edge.ErrInvalidXML
				}
				sawRoot = true
				continue
			}
			if depth != 2 {
				return nil, edge.ErrInvalidXML
			}
			kind := t.Name.Local
			if kind != "Committed" && kind != "Uncommitted" && kind != "Latest" {
				return nil, edge.ErrInvalidXML
			}
			var id string
			if err := dec.DecodeElement(&id, &t); err != nil {
				return nil, edge.ErrInvalidXML
			}
			depth--
			out = append(out, listedBlock{kind: kind, id: id})
		case xml.EndElement:
			depth--
		}
	}
	if !sawRoot || depth != 0 {
		return nil, edge.ErrInvalidXML
	}
	return out, nil
}

func (s *Service) putBlockList(w http.ResponseWriter, r *edge.Request) error {
	list, err := parseBlockList(r.Body)
	if err != nil {
		return err
	}
	if len(list) > maxBlocks {
		return errBlockCountExceeded
	}
	acct, c, name := r.Account.Name, r.Container, r.Object
	rec, k, err := s.newBlobRec(r, "BlockBlob", false)
	if err != nil {
		return err
	}
	// Resolve the list against the blocks as they are now; commitBlob then
	// re-checks everything in its own transaction.
	var resolveErr error
	err = s.db.Update(func(tx *sse.Tx) error {
		rec.Blocks, rec.Size, resolveErr = nil, 0, nil
		uncommitted := map[string]uncommittedRec{}
		err := tx.Scan(blockPrefix(acct, c, name), nil, func(key, v []byte) error {
			var u uncommittedRec
			if err := jsonDecode(v, &u); err != nil {
				return err
			}
			uncommitted[string(key[len(blockPrefix(acct, c, name)):])] = u
			return nil
		})
		if err != nil {
			return err
		}
		committed := map[string]uncommittedRec{}
		var old blobRec
		if getJSON(tx, blobKey(acct, c, name, ""), &old) == nil && old.Type == "BlockBlob" {
			for _, b := range old.Blocks {
				committed[b.ID] = uncommittedRec{Ext: b.Ext, CPK: old.CPK, Scope: old.Scope}
			}
		}
		for _, lb := range list {
			var u uncommittedRec
			var ok bool
			switch lb.kind {
			case "Committed":
				u, ok = committed[lb.id]
			case "Uncommitted":
				u, ok = uncommitted[lb.id]
			case "Latest":
				if u, ok = uncommitted[lb.id]; !ok {
					u, ok = committed[lb.id]
				}
			}
			if !ok {
				resolveErr = errInvalidBlockList
				return nil
			}
			if err := matchCPK(u.CPK, k.cpk); err != nil {
				resolveErr = err
				return nil
			}
			if err := matchScope(u.Scope, k.scope); err != nil {
				resolveErr = err
				return nil
			}
			ext := u.Ext
			rec.Blocks = append(rec.Blocks, block{ID: lb.id, Ext: ext})
			rec.Size += ext.Size
		}
		return nil
	})
	if err == nil {
		err = resolveErr
	}
	if err != nil {
		return err
	}
	if err := s.commitBlob(r, rec, k.account, nil); err != nil {
		return err
	}
	writeResult(w, http.StatusCreated, rec.ETag, rec, nil)
	return nil
}

type blockListXML struct {
	XMLName     xml.Name   `xml:"BlockList"`
	Committed   *blocksXML `xml:"CommittedBlocks"`
	Uncommitted *blocksXML `xml:"UncommittedBlocks"`
}

type blocksXML struct {
	Blocks []blockXML `xml:"Block"`
}

type blockXML struct {
	Name string `xml:"Name"`
	Size int64  `xml:"Size"`
}

func (s *Service) getBlockList(w http.ResponseWriter, r *edge.Request) error {
	q := r.URL.Query()
	which := q.Get("blocklisttype")
	if which == "" {
		which = "committed"
	}
	if which != "committed" && which != "uncommitted" && which != "all" {
		return edge.ErrInvalidQueryParameter.With("blocklisttype must be committed, uncommitted or all.")
	}
	acct, c, name := r.Account.Name, r.Container, r.Object
	var b blobRec
	exists := false
	committed, uncommitted := []blockXML{}, []blockXML{}
	err := s.db.View(func(tx *sse.Tx) error {
		crec, err := loadContainer(tx, acct, c)
		if err != nil {
			return err
		}
		if err := anonymousAllowed(r, crec, false); err != nil {
			return err
		}
		err = getJSON(tx, blobKey(acct, c, name, q.Get("snapshot")), &b)
		exists = err == nil
		if err != nil && !errors.Is(err, sse.ErrNotFound) {
			return mapStoreErr(err, nil)
		}
		if exists && b.Type != "BlockBlob" {
			return errInvalidBlobType
		}
		for _, bl := range b.Blocks {
			committed = append(committed, blockXML{Name: bl.ID, Size: bl.Ext.Size})
		}
		if which != "committed" {
			p := blockPrefix(acct, c, name)
			err := tx.Scan(p, nil, func(k, v []byte) error {
				var u uncommittedRec
				if err := jsonDecode(v, &u); err != nil {
					return err
				}
				uncommitted = append(uncommitted, blockXML{Name: string(k[len(p):]), Size: u.Ext.Size})
				return nil
			})
			if err != nil {
				return err
			}
		}
		if !exists && len(uncommitted) == 0 {
			return errBlobNotFound
		}
		return nil
	})
	if err != nil {
		return err
	}
	out := blockListXML{}
	if which != "uncommitted" {
		out.Committed = &blocksXML{committed}
	}
	if which != "committed" {
		out.Uncommitted = &blocksXML{uncommitted}
	}
	h := w.Header()
	if exists {
		h.Set("ETag", b.ETag)
		h.Set("Last-Modified", httpTime(b.Modified))
		h.Set("x-ms-blob-content-length", strconv.FormatInt(b.Size, 10))
	}
	return writeXML(w, http.StatusOK, out)
}

func tierFrom(v string) (string, error) {
	switch v {
	case "", "Hot", "Cool", "Cold", "Archive":
		return v, nil
	}
	return "", &edge.Error{Status: http.StatusBadRequest, Code: "InvalidHeaderValue", Message: "The access tier is not valid."}
}
