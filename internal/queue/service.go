package queue

import (
	"encoding/xml"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
	"github.com/atrest/atrest/internal/svcprops"
)

// Version is the x-ms-version answered when a request names none; requests
// with any version are served.
const Version = "2025-11-05"

// Service is the Queue service over an encrypted store.
type Service struct {
	db   *sse.DB
	keys *sse.Keyring
	log  *slog.Logger
	// now is the service clock; tests move it to expire messages.
	now func() time.Time
}

// New makes a Queue service storing through db with keys from keys.
func New(db *sse.DB, keys *sse.Keyring, log *slog.Logger) *Service {
	return &Service{db: db, keys: keys, log: log, now: time.Now}
}

// Azure's limits.
const (
	maxMessageText = 64 << 10
	// XML escaping can grow the text several times over on the wire.
	maxMessageBody = 6*maxMessageText + 4<<10
	maxXMLBody     = 1 << 20
	maxVisibility  = 7 * 24 * time.Hour
	defaultTTL     = 7 * 24 * time.Hour
	maxPerRequest  = 32
	maxListResults = 5000
)

// Routes is the Queue REST API, one row per operation.
func (s *Service) Routes() []edge.Route {
	const (
		svc = edge.LevelService
		ctr = edge.LevelContainer
		obj = edge.LevelObject
		key = edge.AuthKey
	)
	G, P, H, D, POST := http.MethodGet, http.MethodPut, http.MethodHead, http.MethodDelete, http.MethodPost
	messages := func(r *edge.Request) bool { return r.Object == "messages" }
	message := func(r *edge.Request) bool { return strings.HasPrefix(r.Object, "messages/") }
	return []edge.Route{
		{Name: "ListQueues", Method: G, Perm: "l", Level: svc, Comp: "list", Auth: key, Handle: s.listQueues},
		{Name: "GetQueueServiceProperties", Method: G, Level: svc, Restype: "service", Comp: "properties", Auth: key, Handle: s.serviceProps().Get},
		{Name: "SetQueueServiceProperties", Method: P, Level: svc, Restype: "service", Comp: "properties", Auth: key, BodyLimit: maxXMLBody, Handle: s.serviceProps().Set},

		{Name: "CreateQueue", Method: P, Perm: "cw", Level: ctr, Auth: key, Handle: s.createQueue},
		{Name: "DeleteQueue", Method: D, Level: ctr, Auth: key, Handle: s.deleteQueue},
		{Name: "GetQueueMetadata", Method: G, Level: ctr, Comp: "metadata", Auth: key, Handle: s.getQueueMetadata},
		{Name: "GetQueueMetadata", Method: H, Level: ctr, Comp: "metadata", Auth: key, Handle: s.getQueueMetadata},
		{Name: "SetQueueMetadata", Method: P, Level: ctr, Comp: "metadata", Auth: key, Handle: s.setQueueMetadata},
		{Name: "GetQueueACL", Method: G, Perm: "-", Level: ctr, Comp: "acl", Auth: key, Handle: s.getQueueACL},
		{Name: "GetQueueACL", Method: H, Perm: "-", Level: ctr, Comp: "acl", Auth: key, Handle: s.getQueueACL},
		{Name: "SetQueueACL", Method: P, Perm: "-", Level: ctr, Comp: "acl", Auth: key, BodyLimit: maxXMLBody, Handle: s.setQueueACL},

		{Name: "PutMessage", Method: POST, Perm: "a", Level: obj, Match: messages, Auth: key, BodyLimit: maxMessageBody, Handle: s.putMessage},
		{Name: "GetMessages", Method: G, PermFor: peekOrProcess, Level: obj, Match: messages, Auth: key, Handle: s.getMessages},
		{Name: "ClearMessages", Method: D, Perm: "d", Level: obj, Match: messages, Auth: key, Handle: s.clearMessages},
		{Name: "UpdateMessage", Method: P, Perm: "u", Level: obj, Match: message, Auth: key, BodyLimit: maxMessageBody, Handle: s.updateMessage},
		{Name: "DeleteMessage", Method: D, Perm: "p", Level: obj, Match: message, Auth: key, Handle: s.deleteMessage},
	}
}

// kek is the KEK of the account's new records, as the account's key model
// (service-managed, customer-managed, infrastructure layer) chooses it.
func (s *Service) kek(acct string) (sse.KEK, error) {
	k, err := s.keys.AccountKEK(acct)
	if err != nil {
		return nil, mapStoreErr(err, nil)
	}
	return k, nil
}

// serviceProps is the account's Queue service properties document, sealed
// like the Blob service's under the index key (no customer-managed key is
// needed to read or set it).
// CORS is the account's CORS rules for the Queue service.
func (s *Service) CORS(acct string) ([]edge.CORSRule, error) { return s.serviceProps().CORS(acct) }

func (s *Service) serviceProps() svcprops.Store {
	return svcprops.Store{DB: s.db, Default: svcprops.QueueDefault,
		Key: func(acct string) []byte { return []byte("s\x00" + acct + "\x00queue") },
		KEK: func(acct string) (sse.KEK, error) {
			k, err := s.keys.IndexKEK(acct)
			if err != nil {
				return nil, mapStoreErr(err, nil)
			}
			return k, nil
		},
		MapErr: func(err error) error { return mapStoreErr(err, nil) }}
}

// validName applies Azure's queue naming rules: 3 to 63 lower-case letters,
// digits and single hyphens, starting and ending with a letter or digit.
func validName(q string) error {
	if len(q) < 3 || len(q) > 63 {
		return errNameLength
	}
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(q)-1 && q[i-1] != '-':
		default:
			return errInvalidName
		}
	}
	return nil
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(r *edge.Request, name string, def, lo, hi int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, edge.ErrInvalidQueryParameter.With("Value for one of the query parameters specified in the request URI is invalid.\nQueryParameterName:%s\nQueryParameterValue:%s", name, v)
	}
	if n < lo || n > hi {
		return 0, errOutOfRangeQuery.With("One of the query parameters specified in the request URI is outside the permissible range.\nQueryParameterName:%s\nQueryParameterValue:%s\nMinimumAllowed:%d\nMaximumAllowed:%d", name, v, lo, hi)
	}
	return n, nil
}

func writeXML(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	return xml.NewEncoder(w).Encode(v)
}

// serviceEndpoint is the account URL as the client reached it.
func serviceEndpoint(r *edge.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/" + r.Account.Name + "/"
}

// peekOrProcess: a SAS must allow reading to peek and processing to receive.
func peekOrProcess(r *edge.Request) string {
	if r.URL.Query().Get("peekonly") == "true" {
		return "r"
	}
	return "p"
}
