package blob

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
)

// Customer-provided keys (CPK): the client sends an AES-256 key with each
// request; content and metadata of the blob are sealed under it, and only
// its SHA-256 is kept, to check that later requests bring the same key.
var (
	errUsesCPK = &edge.Error{Status: http.StatusConflict, Code: "BlobUsesCustomerSpecifiedEncryption",
		Message: "The blob is encrypted with customer specified encryption, but it was not provided in the request."}
	errNotCPK = &edge.Error{Status: http.StatusConflict, Code: "BlobDoesNotUseCustomerSpecifiedEncryption",
		Message: "The blob is not encrypted with customer specified encryption, but it was provided in the request."}
	errCPKMismatch = &edge.Error{Status: http.StatusConflict, Code: "BlobCustomerSpecifiedEncryptionMismatch",
		Message: "The given customer specified encryption does not match the encryption used to encrypt the blob."}
	errSASScope = &edge.Error{Status: http.StatusForbidden, Code: "AuthorizationFailure",
		Message: "The encryption scope of the request differs from the one its SAS is bound to."}
	errCPKNeedsHTTPS = &edge.Error{Status: http.StatusBadRequest, Code: "InvalidHeaderValue",
		Message: "Customer-provided encryption keys may only be sent over HTTPS."}
)

// writeKeys is how one request's data is sealed: records always under the
// account's key; content and metadata under the customer's key when the
// request carries one, or under the encryption scope's key.
type writeKeys struct {
	account sse.KEK
	content sse.KEK
	cpk     string // base64 SHA-256 of the customer key, "" without one
	scope   string // encryption scope of the write, "" for the account key
	// apart: content is under another key than the records (a
	// customer-managed account key)
	apart bool
}

// sealsMeta reports whether metadata is sealed apart from the record,
// under the content key (customer-provided keys, scopes, customer-managed
// keys).
func (k *writeKeys) sealsMeta() bool { return k.cpk != "" || k.scope != "" || k.apart }

// keysFor resolves the keys of a request, validating its CPK and scope
// headers. For a write that changes an existing blob, blob is that blob:
// the write keeps its scope. For a new blob the scope comes from the
// request or the container's default.
func (s *Service) keysFor(r *edge.Request, write bool, blob *blobRec) (*writeKeys, error) {
	acct, err := s.kek(r.Account.Name)
	if err != nil {
		return nil, err
	}
	k := &writeKeys{account: acct, content: acct}
	key, err := customerKey(r, write)
	if err != nil {
		return nil, err
	}
	named := scopeName(r.Header, "x-ms-encryption-scope")
	// A SAS may bind its writes to a scope (ses): the request may repeat
	// that scope but not name another.
	if r.SAS != nil && r.SAS.Scope != "" && write {
		if named != "" && named != r.SAS.Scope {
			return nil, errSASScope
		}
		named = scopeName(http.Header{"X-Ms-Encryption-Scope": {r.SAS.Scope}}, "x-ms-encryption-scope")
	}
	if key != nil && named != "" {
		return nil, errCPKWithScope
	}
	if key != nil {
		cpk, err := sse.CustomerKEK(*key)
		if err != nil {
			return nil, err
		}
		k.cpk = cpk.Version()
		k.content = sse.LayerLike(acct, cpk)
	}
	if !write {
		return k, nil
	}
	if key == nil {
		if k.content, err = s.contentKEK(r.Account.Name); err != nil {
			return nil, err
		}
		ic, ia := sse.Inner(k.content), sse.Inner(acct)
		k.apart = ic.Source() != ia.Source() || ic.Ref() != ia.Ref()
	}
	switch {
	case blob != nil:
		if named != "" && named != blob.Scope {
			return nil, errScopeMismatch
		}
		k.scope = blob.Scope
	default:
		crec, err := s.container(r.Account.Name, r.Container)
		if err != nil {
			return nil, err
		}
		if crec.DenyOverride && crec.DefaultScope != "" && (key != nil || (named != "" && named != crec.DefaultScope)) {
			return nil, errScopeOverrideDenied
		}
		k.scope = named
		if k.scope == "" && key == nil {
			k.scope = crec.DefaultScope
		}
	}
	if k.scope != "" {
		if k.content, err = s.scopeKEK(r.Account.Name, k.scope); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// customerKey validates x-ms-encryption-key, -sha256 and -algorithm: all
// three on writes (the algorithm is optional on reads), HTTPS only, a 256-bit
// key whose hash matches.
func customerKey(r *edge.Request, write bool) (*secret.Key, error) {
	h := r.Header
	k64, sum64, alg := h.Get("x-ms-encryption-key"), h.Get("x-ms-encryption-key-sha256"), h.Get("x-ms-encryption-algorithm")
	if k64 == "" && sum64 == "" && alg == "" {
		return nil, nil
	}
	if r.TLS == nil {
		return nil, errCPKNeedsHTTPS
	}
	if k64 == "" || sum64 == "" || (write && alg == "") {
		return nil, edge.ErrMissingHeader.With("x-ms-encryption-key, x-ms-encryption-key-sha256 and x-ms-encryption-algorithm go together.")
	}
	if alg != "" && alg != "AES256" {
		return nil, edge.ErrInvalidHeaderValue.With("x-ms-encryption-algorithm must be AES256.")
	}
	key, err := secret.FromBase64(k64)
	if err != nil || key.Len() != 32 {
		return nil, edge.ErrInvalidHeaderValue.With("x-ms-encryption-key must be a base64 256-bit key.")
	}
	if subtle.ConstantTimeCompare([]byte(sse.CustomerKeyHash(key)), []byte(sum64)) != 1 {
		return nil, edge.ErrInvalidHeaderValue.With("x-ms-encryption-key-sha256 does not match x-ms-encryption-key.")
	}
	return &key, nil
}

// matchCPK checks a request's key against the key a blob (or its staged
// blocks) was written with.
func matchCPK(stored, given string) error {
	switch {
	case stored != "" && given == "":
		return errUsesCPK
	case stored == "" && given != "":
		return errNotCPK
	case subtle.ConstantTimeCompare([]byte(stored), []byte(given)) != 1:
		return errCPKMismatch
	}
	return nil
}

func metaBinding(acct, c, name string) sse.Binding {
	return sse.Binding{Kind: "cpkmeta", Account: acct, Container: c, Object: name}
}

// setMetadata stores metadata in the record, sealed under the customer's
// key or the scope's key when the blob uses one.
func (b *blobRec) setMetadata(k *writeKeys, acct, c, name string, m map[string]string) error {
	b.CPK, b.Scope = k.cpk, k.scope
	// no metadata, nothing to seal: reads skip a key unwrap
	if !k.sealsMeta() || len(m) == 0 {
		b.Metadata, b.SealedMeta = m, nil
		return nil
	}
	raw, _ := json.Marshal(m)
	sealed, err := sse.Seal(k.content, metaBinding(acct, c, name), raw)
	if err != nil {
		return err
	}
	b.Metadata, b.SealedMeta = nil, sealed
	return nil
}

// metadata opens the blob's metadata; a CPK blob's needs its key, a scoped
// blob's its scope's key.
func (b *blobRec) metadata(db *sse.DB, keys *sse.Keyring, k *writeKeys, acct, c, name string) (map[string]string, error) {
	if b.SealedMeta == nil {
		return b.Metadata, nil
	}
	raw, _, err := sse.Open(sse.WithKEKs(keys, k.content), metaBinding(acct, c, name), b.SealedMeta)
	if err != nil {
		return nil, mapStoreErr(err, nil)
	}
	var m map[string]string
	return m, json.Unmarshal(raw, &m)
}

func writeCPKHeader(h http.Header, cpk string) {
	if cpk != "" {
		h.Set("x-ms-encryption-key-sha256", cpk)
	}
}
