package blob

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
)

func jsonDecode(b []byte, v any) error { return json.Unmarshal(b, v) }

// metaXML renders metadata as <Metadata><name>value</name>...</Metadata>.
type metaXML map[string]string

func (m metaXML) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// Paging markers are opaque to clients: base64url of the last key suffix
// returned, so any blob name survives the round trip.
func encodeMarker(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
func decodeMarker(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, edge.ErrInvalidQueryParameter.With("The marker is not valid.")
	}
	return b, nil
}

func maxResults(r *http.Request) (int, error) {
	v := r.URL.Query().Get("maxresults")
	if v == "" {
		return 5000, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, edge.ErrOutOfRangeInput.With("maxresults must be a positive integer.")
	}
	return min(n, 5000), nil
}

type containerList struct {
	XMLName         xml.Name        `xml:"EnumerationResults"`
	ServiceEndpoint string          `xml:"ServiceEndpoint,attr"`
	Prefix          string          `xml:"Prefix,omitempty"`
	Marker          string          `xml:"Marker,omitempty"`
	MaxResults      int             `xml:"MaxResults,omitempty"`
	Containers      []containerItem `xml:"Containers>Container"`
	NextMarker      string          `xml:"NextMarker"`
}

type containerItem struct {
	Name       string         `xml:"Name"`
	Properties containerProps `xml:"Properties"`
	Metadata   metaXML        `xml:"Metadata,omitempty"`
}

type containerProps struct {
	LastModified  string `xml:"Last-Modified"`
	ETag          string `xml:"Etag"`
	LeaseStatus   string `xml:"LeaseStatus"`
	LeaseState    string `xml:"LeaseState"`
	LeaseDuration string `xml:"LeaseDuration,omitempty"`
	PublicAccess  string `xml:"PublicAccess,omitempty"`
	Immutability  bool   `xml:"HasImmutabilityPolicy"`
	LegalHold     bool   `xml:"HasLegalHold"`
	DefaultScope  string `xml:"DefaultEncryptionScope"`
	DenyOverride  bool   `xml:"DenyEncryptionScopeOverride"`
}

func includes(r *http.Request) map[string]bool {
	m := map[string]bool{}
	for _, v := range r.URL.Query()["include"] {
		for _, s := range strings.Split(v, ",") {
			m[strings.ToLower(strings.TrimSpace(s))] = true
		}
	}
	return m
}

func (s *Service) listContainers(w http.ResponseWriter, r *edge.Request) error {
	q := r.URL.Query()
	prefix, marker := q.Get("prefix"), q.Get("marker")
	limit, err := maxResults(r.Request)
	if err != nil {
		return err
	}
	after, err := decodeMarker(marker)
	if err != nil {
		return err
	}
	inc := includes(r.Request)
	base := containerPrefix(r.Account.Name)
	var afterKey []byte
	if after != nil {
		afterKey = append(append([]byte{}, base...), after...)
	}
	out := containerList{ServiceEndpoint: serviceEndpoint(r), Prefix: prefix, Marker: marker}
	if q.Get("maxresults") != "" {
		out.MaxResults = limit
	}
	t := now()
	err = s.db.View(func(tx *sse.Tx) error {
		return tx.Scan(append(base, prefix...), afterKey, func(k, v []byte) error {
			name := string(k[len(base):])
			if len(out.Containers) == limit {
				out.NextMarker = encodeMarker(out.Containers[limit-1].Name)
				return sse.ErrStop
			}
			var rec containerRec
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			state, status := rec.Lease.state(t)
			item := containerItem{Name: name, Properties: containerProps{
				LastModified: httpTime(rec.Modified), ETag: rec.ETag, LeaseStatus: status, LeaseState: state,
				PublicAccess: rec.Public, DefaultScope: defaultScope(&rec), DenyOverride: rec.DenyOverride}}
			if state == "leased" {
				item.Properties.LeaseDuration = map[bool]string{true: "infinite", false: "fixed"}[rec.Lease.Duration < 0]
			}
			if inc["metadata"] {
				item.Metadata = rec.Metadata
			}
			out.Containers = append(out.Containers, item)
			return nil
		})
	})
	if err != nil {
		return mapStoreErr(err, nil)
	}
	return writeXML(w, http.StatusOK, out)
}

type blobList struct {
	XMLName         xml.Name `xml:"EnumerationResults"`
	ServiceEndpoint string   `xml:"ServiceEndpoint,attr"`
	ContainerName   string   `xml:"ContainerName,attr"`
	Prefix          string   `xml:"Prefix,omitempty"`
	Marker          string   `xml:"Marker,omitempty"`
	MaxResults      int      `xml:"MaxResults,omitempty"`
	Delimiter       string   `xml:"Delimiter,omitempty"`
	Blobs           blobsXML `xml:"Blobs"`
	NextMarker      string   `xml:"NextMarker"`
}

// blobsXML keeps blobs and prefixes in one ordered sequence.
type blobsXML struct {
	Items []any
}

func (b blobsXML) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, it := range b.Items {
		if err := e.Encode(it); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

type blobPrefixXML struct {
	XMLName xml.Name `xml:"BlobPrefix"`
	Name    string   `xml:"Name"`
}

type blobItemXML struct {
	XMLName    xml.Name  `xml:"Blob"`
	Name       string    `xml:"Name"`
	Snapshot   string    `xml:"Snapshot,omitempty"`
	Properties blobProps `xml:"Properties"`
	Metadata   metaXML   `xml:"Metadata,omitempty"`
}

type blobProps struct {
	CreationTime       string `xml:"Creation-Time"`
	LastModified       string `xml:"Last-Modified"`
	ETag               string `xml:"Etag"`
	ContentLength      int64  `xml:"Content-Length"`
	ContentType        string `xml:"Content-Type"`
	ContentEncoding    string `xml:"Content-Encoding"`
	ContentLanguage    string `xml:"Content-Language"`
	ContentMD5         string `xml:"Content-MD5,omitempty"`
	CacheControl       string `xml:"Cache-Control"`
	ContentDisposition string `xml:"Content-Disposition"`
	SequenceNumber     *int64 `xml:"x-ms-blob-sequence-number,omitempty"`
	BlobType           string `xml:"BlobType"`
	AccessTier         string `xml:"AccessTier,omitempty"`
	AccessTierInferred *bool  `xml:"AccessTierInferred,omitempty"`
	LeaseStatus        string `xml:"LeaseStatus"`
	LeaseState         string `xml:"LeaseState"`
	LeaseDuration      string `xml:"LeaseDuration,omitempty"`
	CopyID             string `xml:"CopyId,omitempty"`
	CopyStatus         string `xml:"CopyStatus,omitempty"`
	CopySource         string `xml:"CopySource,omitempty"`
	CopyProgress       string `xml:"CopyProgress,omitempty"`
	CopyCompletion     string `xml:"CopyCompletionTime,omitempty"`
	ServerEncrypted    bool   `xml:"ServerEncrypted"`
	CPKSha256          string `xml:"CustomerProvidedKeySha256,omitempty"`
	EncryptionScope    string `xml:"EncryptionScope,omitempty"`
	Sealed             *bool  `xml:"Sealed,omitempty"`
}

func (s *Service) listBlobs(w http.ResponseWriter, r *edge.Request) error {
	q := r.URL.Query()
	prefix, marker, delim := q.Get("prefix"), q.Get("marker"), q.Get("delimiter")
	limit, err := maxResults(r.Request)
	if err != nil {
		return err
	}
	after, err := decodeMarker(marker)
	if err != nil {
		return err
	}
	inc := includes(r.Request)
	acct := r.Account.Name
	out := blobList{ServiceEndpoint: serviceEndpoint(r), ContainerName: r.Container, Prefix: prefix, Marker: marker, Delimiter: delim}
	if q.Get("maxresults") != "" {
		out.MaxResults = limit
	}
	base := blobPrefix(acct, r.Container)
	t := now()
	var lastSuffix string
	var committed []string
	count := 0
	err = s.db.View(func(tx *sse.Tx) error {
		rec, err := loadContainer(tx, acct, r.Container)
		if err != nil {
			return err
		}
		if err := anonymousAllowed(r, rec, true); err != nil {
			return err
		}
		afterKey := []byte(nil)
		if after != nil {
			afterKey = append(append([]byte{}, base...), after...)
		}
		for {
			var skipTo []byte
			err := tx.Scan(append(append([]byte{}, base...), prefix...), afterKey, func(k, v []byte) error {
				name, snap := splitBlobKey(base, k)
				if snap != "" && !inc["snapshots"] {
					return nil
				}
				if count == limit {
					out.NextMarker = encodeMarker(lastSuffix)
					return sse.ErrStop
				}
				if delim != "" {
					if i := strings.Index(name[len(prefix):], delim); i >= 0 {
						p := name[:len(prefix)+i+len(delim)]
						out.Blobs.Items = append(out.Blobs.Items, blobPrefixXML{Name: p})
						count++
						lastSuffix = p + "\xff"
						skipTo = append(append([]byte{}, base...), lastSuffix...)
						return sse.ErrStop
					}
				}
				var b blobRec
				if err := json.Unmarshal(v, &b); err != nil {
					return err
				}
				if inc["metadata"] && b.Scope != "" && s.checkScope(acct, b.Scope) == nil {
					// a scoped blob's metadata is sealed under its scope's key;
					// one that cannot be opened now is listed without it
					b.Metadata, _ = b.metadata(s.db, s.keys, &writeKeys{}, acct, r.Container, name)
				}
				out.Blobs.Items = append(out.Blobs.Items, blobItem(name, snap, &b, inc, t))
				committed = append(committed, name)
				count++
				lastSuffix = string(k[len(base):])
				return nil
			})
			if err != nil || skipTo == nil {
				return err
			}
			afterKey = skipTo
		}
	})
	if err != nil {
		return mapStoreErr(err, errContainerNotFound)
	}
	if inc["uncommittedblobs"] {
		if err := s.addUncommitted(&out, acct, r.Container, prefix, delim, after, committed); err != nil {
			return err
		}
	}
	return writeXML(w, http.StatusOK, out)
}

func blobItem(name, snap string, b *blobRec, inc map[string]bool, t time.Time) blobItemXML {
	state, status := b.Lease.state(t)
	p := blobProps{
		CreationTime: httpTime(b.Created), LastModified: httpTime(b.Modified), ETag: b.ETag,
		ContentLength: b.Size, ContentType: b.Headers.Type, ContentEncoding: b.Headers.Encoding,
		ContentLanguage: b.Headers.Language, CacheControl: b.Headers.Cache, ContentDisposition: b.Headers.Disposition,
		BlobType: b.Type, LeaseStatus: status, LeaseState: state, ServerEncrypted: true, CPKSha256: b.CPK,
		EncryptionScope: b.Scope,
	}
	if len(b.Headers.MD5) > 0 {
		p.ContentMD5 = base64.StdEncoding.EncodeToString(b.Headers.MD5)
	}
	if b.Type == "PageBlob" {
		p.SequenceNumber = &b.SeqNum
	}
	if b.Type == "BlockBlob" {
		p.AccessTier = "Hot"
		inferred := b.Tier == ""
		if !inferred {
			p.AccessTier = b.Tier
		}
		p.AccessTierInferred = &inferred
	}
	if b.Type == "AppendBlob" {
		p.Sealed = &b.Sealed
	}
	if state == "leased" {
		p.LeaseDuration = map[bool]string{true: "infinite", false: "fixed"}[b.Lease.Duration < 0]
	}
	if c := b.Copy; c != nil && inc["copy"] {
		p.CopyID, p.CopyStatus, p.CopySource, p.CopyProgress = c.ID, c.Status, c.Source, c.Progress
		p.CopyCompletion = httpTime(c.Completed)
	}
	item := blobItemXML{Name: name, Snapshot: snap, Properties: p}
	if inc["metadata"] {
		item.Metadata = b.Metadata
	}
	return item
}

// addUncommitted lists blobs that so far have only uncommitted blocks, in
// the name window this page covered.
func (s *Service) addUncommitted(out *blobList, acct, c, prefix, delim string, after []byte, committed []string) error {
	have := map[string]bool{}
	for _, n := range committed {
		have[n] = true
	}
	upper := ""
	if out.NextMarker != "" {
		m, _ := decodeMarker(out.NextMarker)
		upper = string(m)
	}
	base := uncommittedPrefix(acct, c)
	var extra []blobItemXML
	err := s.db.View(func(tx *sse.Tx) error {
		seen := map[string]bool{}
		return tx.ScanKeys(append(append([]byte{}, base...), prefix...), nil, func(k []byte) error {
			rest := string(k[len(base):])
			name := rest[:strings.LastIndexByte(rest, 0)]
			if seen[name] || have[name] || (after != nil && name <= string(after)) || (upper != "" && name > upper) {
				return nil
			}
			if delim != "" && strings.Contains(name[len(prefix):], delim) {
				return nil
			}
			seen[name] = true
			if tx.Has(blobKey(acct, c, name, "")) {
				return nil
			}
			extra = append(extra, blobItemXML{Name: name, Properties: blobProps{BlobType: "BlockBlob", LeaseStatus: "unlocked", LeaseState: "available", ServerEncrypted: true}})
			return nil
		})
	})
	if err != nil || len(extra) == 0 {
		return err
	}
	for _, it := range extra {
		out.Blobs.Items = append(out.Blobs.Items, it)
	}
	sort.SliceStable(out.Blobs.Items, func(i, j int) bool { return itemName(out.Blobs.Items[i]) < itemName(out.Blobs.Items[j]) })
	return nil
}

func itemName(v any) string {
	switch it := v.(type) {
	case blobItemXML:
		return it.Name
	case blobPrefixXML:
		return it.Name
	}
	return ""
}
