package blob

import (
	"log/slog"
	"net/http"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/sse"
	"github.com/atrest/atrest/internal/svcprops"
)

// Version is the newest x-ms-version this service knows; requests with any
// version, older or newer, are answered.
const Version = "2026-12-06"

// Service is the Blob service over an encrypted store.
type Service struct {
	db     *sse.DB
	keys   *sse.Keyring
	log    *slog.Logger
	scopes Scopes
	udk    udkSecrets
}

// New makes a Blob service storing through db with keys from keys.
func New(db *sse.DB, keys *sse.Keyring, log *slog.Logger) *Service {
	return &Service{db: db, keys: keys, log: log}
}

// serviceProps is the account's Blob service properties document, an index
// record (no customer-managed key needed to read or set it).
// CORS is the account's CORS rules for the Blob service.
func (s *Service) CORS(acct string) ([]edge.CORSRule, error) { return s.serviceProps().CORS(acct) }

func (s *Service) serviceProps() svcprops.Store {
	return svcprops.Store{DB: s.db, Key: servicePropsKey, KEK: s.kek, Default: svcprops.BlobDefault,
		MapErr: func(err error) error { return mapStoreErr(err, nil) }}
}

const (
	kib = 1 << 10
	mib = 1 << 20
	// Azure's limits for the newest versions.
	maxPutBlob     = 5000 * mib
	maxBlock       = 4000 * mib
	maxAppendBlock = 100 * mib
	maxPage        = 4 * mib
	maxXMLBody     = 4 * mib
	maxBlocks      = 50000
)

// Routes is the Blob REST API, one row per operation.
func (s *Service) Routes() []edge.Route {
	const (
		svc = edge.LevelService
		ctr = edge.LevelContainer
		obj = edge.LevelObject
		key = edge.AuthKey
		pub = edge.AuthAnonymous
	)
	G, P, H, D := http.MethodGet, http.MethodPut, http.MethodHead, http.MethodDelete
	return []edge.Route{
		{Name: "GetBlobServiceProperties", Method: G, Level: svc, Restype: "service", Comp: "properties", Auth: key, Handle: s.serviceProps().Get},
		{Name: "SetBlobServiceProperties", Method: P, Level: svc, Restype: "service", Comp: "properties", Auth: key, BodyLimit: maxXMLBody, Handle: s.serviceProps().Set},
		{Name: "GetUserDelegationKey", Method: http.MethodPost, Perm: "-", Level: svc, Restype: "service", Comp: "userdelegationkey", Auth: key, BodyLimit: 64 * kib, Handle: s.getUserDelegationKey},
		{Name: "ListContainers", Method: G, Perm: "l", Level: svc, Comp: "list", Auth: key, Handle: s.listContainers},
		{Name: "GetAccountInformation", Method: G, Perm: "rwdlacup", Level: svc, Restype: "account", Comp: "properties", Auth: key, Handle: s.accountInfo},
		{Name: "GetAccountInformation", Method: H, Perm: "rwdlacup", Level: svc, Restype: "account", Comp: "properties", Auth: key, Handle: s.accountInfo},

		{Name: "CreateContainer", Method: P, Perm: "cw", Level: ctr, Restype: "container", Auth: key, Handle: s.createContainer},
		{Name: "DeleteContainer", Method: D, Level: ctr, Restype: "container", Auth: key, Handle: s.deleteContainer},
		{Name: "GetContainerProperties", Method: G, Level: ctr, Restype: "container", Auth: pub, Handle: s.containerProperties},
		{Name: "GetContainerProperties", Method: H, Level: ctr, Restype: "container", Auth: pub, Handle: s.containerProperties},
		{Name: "GetContainerMetadata", Method: G, Level: ctr, Restype: "container", Comp: "metadata", Auth: pub, Handle: s.containerProperties},
		{Name: "GetContainerMetadata", Method: H, Level: ctr, Restype: "container", Comp: "metadata", Auth: pub, Handle: s.containerProperties},
		{Name: "SetContainerMetadata", Method: P, Level: ctr, Restype: "container", Comp: "metadata", Auth: key, Handle: s.setContainerMetadata},
		{Name: "GetContainerACL", Method: G, Perm: "-", Level: ctr, Restype: "container", Comp: "acl", Auth: key, Handle: s.getContainerACL},
		{Name: "GetContainerACL", Method: H, Perm: "-", Level: ctr, Restype: "container", Comp: "acl", Auth: key, Handle: s.getContainerACL},
		{Name: "SetContainerACL", Method: P, Perm: "-", Level: ctr, Restype: "container", Comp: "acl", Auth: key, BodyLimit: maxXMLBody, Handle: s.setContainerACL},
		{Name: "LeaseContainer", Method: P, Level: ctr, Restype: "container", Comp: "lease", Auth: key, Handle: s.leaseContainer},
		{Name: "ListBlobs", Method: G, Perm: "l", Level: ctr, Restype: "container", Comp: "list", Auth: pub, Handle: s.listBlobs},
		{Name: "GetAccountInformation", Method: G, Perm: "rwdlacup", Level: ctr, Restype: "account", Comp: "properties", Auth: key, Handle: s.accountInfo},
		{Name: "GetAccountInformation", Method: H, Perm: "rwdlacup", Level: ctr, Restype: "account", Comp: "properties", Auth: key, Handle: s.accountInfo},

		{Name: "CopyBlob", Method: P, Perm: "cw", Level: obj, Header: "x-ms-copy-source", Auth: key, Handle: s.copyBlob},
		{Name: "PutBlob", Method: P, Perm: "cw", Level: obj, Auth: key, BodyLimit: maxPutBlob, Handle: s.putBlob},
		{Name: "PutBlock", Method: P, Perm: "cw", Level: obj, Comp: "block", Auth: key, BodyLimit: maxBlock, Handle: s.putBlock},
		{Name: "PutBlockList", Method: P, Perm: "cw", Level: obj, Comp: "blocklist", Auth: key, BodyLimit: maxXMLBody, Handle: s.putBlockList},
		{Name: "GetBlockList", Method: G, Level: obj, Comp: "blocklist", Auth: pub, Handle: s.getBlockList},
		{Name: "GetBlob", Method: G, Level: obj, Auth: pub, Handle: s.getBlob},
		{Name: "GetBlobProperties", Method: H, Level: obj, Auth: pub, Handle: s.getBlob},
		{Name: "DeleteBlob", Method: D, Level: obj, Auth: key, Handle: s.deleteBlob},
		{Name: "SetBlobProperties", Method: P, Level: obj, Comp: "properties", Auth: key, Handle: s.setBlobProperties},
		{Name: "GetBlobMetadata", Method: G, Level: obj, Comp: "metadata", Auth: pub, Handle: s.getBlob},
		{Name: "GetBlobMetadata", Method: H, Level: obj, Comp: "metadata", Auth: pub, Handle: s.getBlob},
		{Name: "SetBlobMetadata", Method: P, Level: obj, Comp: "metadata", Auth: key, Handle: s.setBlobMetadata},
		{Name: "SnapshotBlob", Method: P, Perm: "cw", Level: obj, Comp: "snapshot", Auth: key, Handle: s.snapshotBlob},
		{Name: "LeaseBlob", Method: P, Level: obj, Comp: "lease", Auth: key, Handle: s.leaseBlob},
		{Name: "SetBlobTier", Method: P, Level: obj, Comp: "tier", Auth: key, Handle: s.setTier},
		{Name: "AbortCopyBlob", Method: P, Level: obj, Comp: "copy", Auth: key, Handle: s.abortCopy},
		{Name: "AppendBlock", Method: P, Perm: "aw", Level: obj, Comp: "appendblock", Auth: key, BodyLimit: maxAppendBlock, Handle: s.appendBlock},
		{Name: "PutPage", Method: P, Level: obj, Comp: "page", Auth: key, BodyLimit: maxPage, Handle: s.putPage},
		{Name: "GetPageRanges", Method: G, Level: obj, Comp: "pagelist", Auth: pub, Handle: s.getPageRanges},
		{Name: "GetAccountInformation", Method: G, Perm: "rwdlacup", Level: obj, Restype: "account", Comp: "properties", Auth: key, Handle: s.accountInfo},
		{Name: "GetAccountInformation", Method: H, Perm: "rwdlacup", Level: obj, Restype: "account", Comp: "properties", Auth: key, Handle: s.accountInfo},
	}
}

// StoredPolicy finds a container's stored access policy for service SAS.
func (s *Service) StoredPolicy(acct, c, id string) (*edge.StoredPolicy, error) {
	rec, err := s.container(acct, c)
	if err != nil {
		return nil, err
	}
	return edge.FindPolicy(rec.ACL, id), nil
}

// kek is the account's KEK for index records (containers, blob records,
// block lists): the service-managed key, so that listings and deletes
// never depend on a customer-managed key.
func (s *Service) kek(acct string) (sse.KEK, error) {
	k, err := s.keys.IndexKEK(acct)
	if err != nil {
		return nil, mapStoreErr(err, nil)
	}
	return k, nil
}

// contentKEK is the account's KEK for content and metadata, as its key
// model chooses it (customer-managed keys apply here).
func (s *Service) contentKEK(acct string) (sse.KEK, error) {
	k, err := s.keys.AccountKEK(acct)
	if err != nil {
		return nil, mapStoreErr(err, nil)
	}
	return k, nil
}

func (s *Service) accountInfo(w http.ResponseWriter, r *edge.Request) error {
	h := w.Header()
	h.Set("x-ms-sku-name", "Standard_LRS")
	h.Set("x-ms-account-kind", "StorageV2")
	h.Set("x-ms-is-hns-enabled", "false")
	w.WriteHeader(http.StatusOK)
	return nil
}

// serviceEndpoint is the account URL as the client reached it.
func serviceEndpoint(r *edge.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/" + r.Account.Name + "/"
}
