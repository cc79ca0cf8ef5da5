package table

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
	"github.com/atrest/atrest/internal/svcprops"
)

// Version is the x-ms-version answered when a request names none.
const Version = "2019-02-02"

// Service is the Table service over an encrypted store.
type Service struct {
	db   *sse.DB
	keys *sse.Keyring
	log  *slog.Logger
}

// New makes a Table service storing through db with keys from keys.
func New(db *sse.DB, keys *sse.Keyring, log *slog.Logger) *Service {
	return &Service{db: db, keys: keys, log: log}
}

const maxBatchBody = 4 << 20

// Routes is the Table REST API, one row per operation. Split has already
// put "Tables", "$batch" or a table name in Container and a table name or
// an entity's "(PartitionKey='…',RowKey='…')" in Object.
func (s *Service) Routes() []edge.Route {
	const (
		ctr = edge.LevelContainer
		obj = edge.LevelObject
		key = edge.AuthKey
	)
	G, P, D, POST := http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPost
	tables := func(r *edge.Request) bool { return r.Container == "Tables" }
	batch := func(r *edge.Request) bool { return r.Container == "$batch" }
	table := func(r *edge.Request) bool { return !tables(r) && !batch(r) }
	svc := func(r *edge.Request) bool { return r.Container == "" }
	return []edge.Route{
		{Name: "GetTableServiceProperties", Method: G, Level: edge.LevelService, Restype: "service", Comp: "properties", Match: svc, Auth: key, Handle: s.serviceProps().Get},
		{Name: "SetTableServiceProperties", Method: P, Level: edge.LevelService, Restype: "service", Comp: "properties", Match: svc, Auth: key, BodyLimit: 1 << 20, Handle: s.serviceProps().Set},
		{Name: "QueryTables", Method: G, Perm: "l", Level: ctr, Match: tables, Auth: key, Handle: s.queryTables},
		{Name: "CreateTable", Method: POST, Perm: "cw", Level: ctr, Match: tables, Auth: key, BodyLimit: 64 << 10, Handle: s.createTable},
		{Name: "GetTable", Method: G, Perm: "r", Level: obj, Match: tables, Auth: key, Handle: s.getTable},
		{Name: "DeleteTable", Method: D, Perm: "d", Level: obj, Match: tables, Auth: key, Handle: s.deleteTable},
		{Name: "EntityGroupTransaction", Method: POST, Perm: "aud", Level: ctr, Match: batch, Auth: key, BodyLimit: maxBatchBody, Handle: s.batch},

		{Name: "GetTableACL", Method: G, Perm: "-", Level: ctr, Comp: "acl", Match: table, Auth: key, Handle: s.getTableACL},
		{Name: "GetTableACL", Method: http.MethodHead, Perm: "-", Level: ctr, Comp: "acl", Match: table, Auth: key, Handle: s.getTableACL},
		{Name: "SetTableACL", Method: P, Perm: "-", Level: ctr, Comp: "acl", Match: table, Auth: key, BodyLimit: 1 << 20, Handle: s.setTableACL},

		{Name: "QueryEntities", Method: G, Perm: "r", Level: ctr, Match: table, Auth: key, Handle: s.queryEntities},
		{Name: "InsertEntity", Method: POST, Perm: "a", Level: ctr, Match: table, Auth: key, BodyLimit: maxEntityBody, Handle: s.insertEntity},
		{Name: "GetEntity", Method: G, Perm: "r", Level: obj, Match: table, Auth: key, Handle: s.getEntity},
		{Name: "UpdateEntity", Method: P, Perm: "u", Level: obj, Match: table, Auth: key, BodyLimit: maxEntityBody, Handle: s.writeEntity},
		{Name: "MergeEntity", Method: "MERGE", Perm: "u", Level: obj, Match: table, Auth: key, BodyLimit: maxEntityBody, Handle: s.writeEntity},
		{Name: "MergeEntity", Method: http.MethodPatch, Perm: "u", Level: obj, Match: table, Auth: key, BodyLimit: maxEntityBody, Handle: s.writeEntity},
		{Name: "DeleteEntity", Method: D, Perm: "d", Level: obj, Match: table, Auth: key, Handle: s.deleteEntity},
	}
}

// maxEntityBody leaves room for JSON escaping around a 1 MiB entity.
const maxEntityBody = 4 << 20

// Split parses the path below the account: "Tables", "Tables('t')",
// "$batch", "t", "t()" and "t(PartitionKey='p',RowKey='r')".
func Split(rest string) (container, object string) {
	rest = strings.TrimSuffix(rest, "/")
	name, args, found := strings.Cut(rest, "(")
	if !found {
		return name, ""
	}
	args = strings.TrimSuffix(args, ")")
	if name == "Tables" {
		if t, ok := unquote(args); ok {
			return name, t
		}
		return name, args
	}
	// keep the parentheses: an entity object is never empty, even for
	// PartitionKey='' and RowKey=''
	if args == "" {
		return name, ""
	}
	return name, "(" + args + ")"
}

// unquote reads an OData string literal: '…' with ” for a quote.
func unquote(s string) (string, bool) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", false
	}
	inner := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		if inner[i] == '\'' {
			if i+1 >= len(inner) || inner[i+1] != '\'' {
				return "", false
			}
			i++
		}
		b.WriteByte(inner[i])
	}
	return b.String(), true
}

// entityKeys reads "(PartitionKey='p',RowKey='r')", in either order.
func entityKeys(object string) (pk, rk string, err error) {
	args, ok := strings.CutPrefix(object, "(")
	args, ok2 := strings.CutSuffix(args, ")")
	bad := errInvalidInput.With("The entity key %q is not (PartitionKey='…',RowKey='…').", object)
	if !ok || !ok2 {
		return "", "", bad
	}
	var havePK, haveRK bool
	for args != "" {
		name, rest, found := strings.Cut(args, "=")
		if !found {
			return "", "", bad
		}
		rest = strings.TrimLeft(rest, " ")
		// the value runs to the first quote not followed by another
		end := 1
		for end < len(rest) {
			if rest[end] == '\'' {
				if end+1 < len(rest) && rest[end+1] == '\'' {
					end += 2
					continue
				}
				break
			}
			end++
		}
		if end >= len(rest) {
			return "", "", bad
		}
		v, ok := unquote(rest[:end+1])
		if !ok {
			return "", "", bad
		}
		switch strings.TrimSpace(name) {
		case "PartitionKey":
			pk, havePK = v, true
		case "RowKey":
			rk, haveRK = v, true
		default:
			return "", "", bad
		}
		args = strings.TrimPrefix(strings.TrimSpace(rest[end+1:]), ",")
	}
	if !havePK || !haveRK {
		return "", "", bad
	}
	return pk, rk, nil
}

// kek is the KEK of the account's new records, as the account's key model
// (service-managed, customer-managed, infrastructure layer) chooses it.
func (s *Service) kek(acct string) (sse.KEK, error) {
	k, err := s.keys.AccountKEK(acct)
	if err != nil {
		return nil, mapStoreErr(err)
	}
	return k, nil
}

// indexKEK seals table records (a name and a creation time): the
// service-managed key, inside the infrastructure layer when the account
// requires one, so that listing, creating and deleting tables never depend
// on a customer-managed key, as the Blob service keeps its containers.
func (s *Service) indexKEK(acct string) (sse.KEK, error) {
	k, err := s.keys.IndexKEK(acct)
	if err != nil {
		return nil, mapStoreErr(err)
	}
	return k, nil
}

// serviceProps is the account's Table service properties document (XML,
// as in Azure), sealed under the index key like the table records.
// CORS is the account's CORS rules for the Table service.
func (s *Service) CORS(acct string) ([]edge.CORSRule, error) { return s.serviceProps().CORS(acct) }

func (s *Service) serviceProps() svcprops.Store {
	return svcprops.Store{DB: s.db, Default: svcprops.TableDefault,
		Key:    func(acct string) []byte { return []byte("s\x00" + acct + "\x00table") },
		KEK:    s.indexKEK,
		MapErr: mapStoreErr}
}

// checkTableName applies Azure's rules: 3 to 63 letters and digits,
// starting with a letter; "tables" is reserved.
func checkTableName(t string) error {
	if len(t) < 3 || len(t) > 63 {
		return errNameLength
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return errInvalidName
		}
	}
	if strings.EqualFold(t, "tables") {
		return errInvalidName
	}
	return nil
}

// tableUsable reports whether a table exists and is not being deleted,
// without opening its record.
func tableUsable(tx *sse.Tx, acct, lower string) bool {
	return tx.Has(tableKey(acct, lower)) && !tx.Has(deletingKey(acct, lower))
}

// preferNoContent reads the Prefer header of an insert.
func preferNoContent(r *edge.Request) (noContent, given bool) {
	p := r.Header.Get("Prefer")
	return strings.Contains(p, "return-no-content"), strings.Contains(p, "return-")
}
