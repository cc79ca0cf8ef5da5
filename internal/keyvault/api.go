package keyvault

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
)

// The in-process API: what a storage account's identity uses to wrap and
// unwrap its data keys with a customer-managed key. It takes the same path
// as the HTTPS API (authorize, then one audit event), so revoking the
// identity's role revokes its access here too.

// KeyRef names a key version; an empty Version means the latest.
type KeyRef struct {
	Vault, Name, Version string
}

// Result is a wrap or unwrap outcome: the exact key id used and the bytes.
type Result struct {
	KID     string
	Version string
	Value   []byte
}

// CallerFor resolves a principal (object id, client id or name) into a
// Caller for in-process use.
func (s *Service) CallerFor(principal string) (Caller, error) {
	p, err := s.ident.Lookup(principal)
	if err != nil {
		return Caller{}, err
	}
	return Caller{ObjectID: p.ObjectID, AppID: p.ClientID, Name: p.Name}, nil
}

// WrapKey wraps key with the referenced key version (alg e.g. RSA-OAEP-256
// or A256KW) on behalf of c.
func (s *Service) WrapKey(ctx context.Context, c Caller, ref KeyRef, alg string, key []byte) (Result, error) {
	return s.keyOp(ctx, c, "WrapKey", ref, alg, key)
}

// UnwrapKey reverses WrapKey on behalf of c.
func (s *Service) UnwrapKey(ctx context.Context, c Caller, ref KeyRef, alg string, wrapped []byte) (Result, error) {
	return s.keyOp(ctx, c, "UnwrapKey", ref, alg, wrapped)
}

func (s *Service) keyOp(ctx context.Context, c Caller, operation string, ref KeyRef, alg string, v []byte) (Result, error) {
	body, err := json.Marshal(keyOpParams{Alg: alg, Value: v})
	if err != nil {
		return Result{}, err
	}
	out, err := s.Do(ctx, c, operation, ref.Vault, ref.Name, ref.Version, body, nil)
	clear(body)
	if err != nil {
		return Result{}, err
	}
	r, ok := out.(*keyOpResult)
	if !ok {
		return Result{}, errors.New("keyvault: unexpected result")
	}
	_, _, version := splitKID(r.KID)
	return Result{KID: r.KID, Version: version, Value: r.Value}, nil
}

// splitKID takes https://host/keys/{name}/{version} apart.
func splitKID(kid string) (base, name, version string) {
	base, rest, ok := strings.Cut(kid, "/keys/")
	if !ok {
		return "", "", ""
	}
	name, version, _ = strings.Cut(rest, "/")
	return base, name, version
}
