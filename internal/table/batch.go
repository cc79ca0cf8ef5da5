package table

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

// maxChanges is Azure's limit on operations in one change set.
const maxChanges = 100

// batchOp is one operation of a change set with what its response needs.
type batchOp struct {
	op        *op
	contentID string
	table     string // as the client wrote it, for URLs in responses
	noContent bool   // inserts: Prefer: return-no-content
	lvl       metadataLevel
	stored    *Entity
}

// batchFailure is the operation that failed and why.
type batchFailure struct {
	index     int
	contentID string
	err       *edge.Error
}

// batch runs an entity group transaction: a multipart/mixed request whose
// one change set holds up to 100 writes to a single partition. All of them
// are applied in one store transaction, so they commit together or not at
// all. The answer is 202 with a multipart/mixed body: a response per
// operation, or the single failed operation, its message prefixed with
// its index as Azure does.
func (s *Service) batch(w http.ResponseWriter, r *edge.Request) error {
	changeset, err := readChangeSet(r)
	if err != nil {
		return err
	}
	ops, fail := parseBatchOps(r, changeset)
	if fail == nil {
		fail = s.runBatch(r.Account.Name, ops)
	}
	return writeBatchResponse(w, r, ops, fail)
}

// readChangeSet returns the parts of the change set inside the batch.
func readChangeSet(r *edge.Request) ([][]byte, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return nil, errInvalidInput.With("The batch request must be multipart/mixed with a boundary.")
	}
	outer := multipart.NewReader(r.Body, params["boundary"])
	part, err := outer.NextPart()
	if err != nil {
		return nil, batchReadErr(err, "The batch request holds no change set.")
	}
	mt, params, err = mime.ParseMediaType(part.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return nil, errInvalidInput.With("The batch request must hold one multipart/mixed change set; a lone query is not supported.")
	}
	inner := multipart.NewReader(part, params["boundary"])
	var parts [][]byte
	for {
		p, err := inner.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, batchReadErr(err, "The change set is not valid multipart/mixed.")
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, batchReadErr(err, "The change set is not valid multipart/mixed.")
		}
		parts = append(parts, b)
	}
	if len(parts) == 0 {
		return nil, errInvalidInput.With("The change set holds no operations.")
	}
	if _, err := outer.NextPart(); err != io.EOF {
		return nil, batchReadErr(err, "The batch request must hold exactly one change set.")
	}
	return parts, nil
}

// batchReadErr keeps a body over the limit a 413 and makes anything else
// a 400.
func batchReadErr(err error, msg string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return edge.ErrBodyTooLarge
	}
	return errInvalidInput.With("%s", msg)
}

// parseBatchOps turns each part (an HTTP request) into an op, checking
// the change-set rules.
func parseBatchOps(r *edge.Request, parts [][]byte) ([]*batchOp, *batchFailure) {
	var ops []*batchOp
	rows := map[string]bool{}
	limits := limitsOf(r)
	for i, part := range parts {
		fail := func(err error) *batchFailure {
			e, ok := err.(*edge.Error)
			if !ok {
				e = errInvalidInput
			}
			return &batchFailure{index: i, err: e}
		}
		if i == maxChanges {
			return ops, fail(errTooManyChanges)
		}
		bo, err := parseBatchOp(r, part)
		if err != nil {
			f := fail(err)
			if bo != nil {
				f.contentID = bo.contentID
			}
			return ops, f
		}
		if err := limits.allows(bo.op); err != nil {
			return ops, &batchFailure{index: i, contentID: bo.contentID, err: err.(*edge.Error)}
		}
		if len(ops) > 0 {
			first := ops[0].op
			if bo.op.table != first.table || bo.op.ent.PartitionKey != first.ent.PartitionKey {
				return ops, &batchFailure{index: i, contentID: bo.contentID, err: errOtherPartition}
			}
		}
		if rows[bo.op.ent.RowKey] {
			return ops, &batchFailure{index: i, contentID: bo.contentID, err: errDuplicateRow}
		}
		rows[bo.op.ent.RowKey] = true
		ops = append(ops, bo)
	}
	return ops, nil
}

// parseBatchOp reads one "METHOD URL HTTP/1.1", headers and body.
func parseBatchOp(r *edge.Request, part []byte) (*batchOp, error) {
	// sized to the part: the default 4 KiB buffer per operation is most of
	// a batch's garbage
	tp := textproto.NewReader(bufio.NewReaderSize(bytes.NewReader(part), max(len(part), 16)))
	line, err := tp.ReadLine()
	if err != nil {
		return nil, errInvalidInput.With("A change set operation has no request line.")
	}
	method, rest, _ := strings.Cut(line, " ")
	target, _, _ := strings.Cut(rest, " ")
	hdr, err := tp.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return nil, errInvalidInput.With("A change set operation has malformed headers.")
	}
	body, _ := io.ReadAll(tp.R)
	if n, err := strconv.Atoi(hdr.Get("Content-Length")); err == nil && n >= 0 && n <= len(body) {
		body = body[:n]
	}
	body = bytes.TrimSpace(body)
	bo := &batchOp{contentID: hdr.Get("Content-ID")}
	u, err := url.Parse(target)
	if err != nil {
		return bo, errInvalidInput.With("A change set operation has a malformed URL.")
	}
	acctPath, below, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if acctPath != r.Account.Name {
		return bo, errInvalidInput.With("A change set operation names another account.")
	}
	table, object := Split(below)
	if table == "Tables" || table == "$batch" || table == "" {
		return bo, errInvalidInput.With("A change set may only change entities.")
	}
	bo.table = table
	prefs := &edge.Request{Request: &http.Request{Header: http.Header(hdr), URL: u}}
	if bo.lvl, err = responseLevel(prefs); err != nil {
		return bo, err
	}
	bo.noContent, _ = preferNoContent(prefs)
	ifMatch := hdr.Get("If-Match")
	switch {
	case method == http.MethodPost && object == "":
		bo.op, err = entityOp(opInsert, table, "", body, "")
	case method == http.MethodPut && object != "":
		bo.op, err = entityOp(opReplace, table, object, body, ifMatch)
	case (method == "MERGE" || method == http.MethodPatch) && object != "":
		bo.op, err = entityOp(opMerge, table, object, body, ifMatch)
	case method == http.MethodDelete && object != "":
		if ifMatch == "" {
			return bo, edge.ErrMissingHeader.With("An HTTP header that's mandatory for this request is not specified.\nHeaderName:If-Match")
		}
		bo.op, err = entityOp(opDelete, table, object, nil, ifMatch)
	default:
		return bo, errInvalidInput.With("%s %s is not an operation a change set may hold.", method, u.Path)
	}
	return bo, err
}

// runBatch applies every op in one transaction; the first failure undoes
// them all.
func (s *Service) runBatch(acct string, ops []*batchOp) *batchFailure {
	kek, err := s.kek(acct)
	if err != nil {
		return &batchFailure{err: edge.ErrInternal}
	}
	var fail *batchFailure
	err = s.db.Update(func(tx *sse.Tx) error {
		fail = nil
		for i, bo := range ops {
			stored, err := apply(tx, kek, acct, bo.op)
			if err != nil {
				fail = &batchFailure{index: i, contentID: bo.contentID}
				return err
			}
			bo.stored = stored
		}
		return nil
	})
	if err == nil {
		return nil
	}
	e, ok := mapStoreErr(err).(*edge.Error)
	if !ok {
		s.log.Error("batch failed", "err", err)
		e = edge.ErrInternal
	}
	if fail == nil {
		fail = &batchFailure{}
	}
	fail.err = e
	return fail
}

func writeBatchResponse(w http.ResponseWriter, r *edge.Request, ops []*batchOp, fail *batchFailure) error {
	batchB, csB := "batchresponse_"+uuid.NewString(), "changesetresponse_"+uuid.NewString()
	var b bytes.Buffer
	fmt.Fprintf(&b, "--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n", batchB, csB)
	part := func(status int, contentID string, headers []string, body []byte) {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n", csB)
		fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
		if contentID != "" {
			fmt.Fprintf(&b, "Content-ID: %s\r\n", contentID)
		}
		b.WriteString("X-Content-Type-Options: nosniff\r\nCache-Control: no-cache\r\nDataServiceVersion: 3.0;\r\n")
		for _, h := range headers {
			b.WriteString(h + "\r\n")
		}
		b.WriteString("\r\n")
		b.Write(body)
		// the CRLF before the next delimiter belongs to the delimiter, not
		// to this part
		b.WriteString("\r\n")
	}
	if fail != nil {
		msg := fmt.Sprintf("%d:%s\nRequestId:%s\nTime:%s", fail.index, fail.err.Message, r.ID, nowString())
		part(fail.err.Status, fail.contentID, []string{"Content-Type: " + minimalMetadata.contentType()}, errorBody(fail.err.Code, msg))
		// Go's aztables reads a failed transaction's code only from here
		w.Header().Set("x-ms-error-code", fail.err.Code)
	} else {
		for _, bo := range ops {
			var headers []string
			if bo.stored != nil {
				headers = append(headers, "ETag: "+etag(bo.stored.Timestamp))
			}
			if bo.op.kind != opInsert {
				part(http.StatusNoContent, bo.contentID, headers, nil)
				continue
			}
			loc := accountURL(r) + entityPath(bo.table, bo.stored.PartitionKey, bo.stored.RowKey)
			headers = append(headers, "Location: "+loc, "DataServiceId: "+loc)
			if bo.noContent {
				part(http.StatusNoContent, bo.contentID, append(headers, "Preference-Applied: return-no-content"), nil)
				continue
			}
			j := entityJSON{lvl: bo.lvl, account: accountURL(r), acct: r.Account.Name, table: bo.table}
			part(http.StatusCreated, bo.contentID, append(headers, "Content-Type: "+bo.lvl.contentType()), j.append(nil, bo.stored, true))
		}
	}
	fmt.Fprintf(&b, "--%s--\r\n--%s--\r\n", csB, batchB)
	h := w.Header()
	h.Set("Content-Type", "multipart/mixed; boundary="+batchB)
	h.Set("DataServiceVersion", "3.0;")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusAccepted)
	_, err := w.Write(b.Bytes())
	return err
}
