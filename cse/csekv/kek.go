package csekv

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // RSA-OAEP
	_ "crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/atrest/atrest/cse"
)

// Options adjust New.
type Options struct {
	// Algorithm is the wrap algorithm recorded with data: RSA-OAEP-256
	// (default for RSA keys) or RSA-OAEP; A256KW, A192KW or A128KW for
	// symmetric keys (default by key size).
	Algorithm string
	// RemoteWrap makes every wrap a vault call instead of a local RSA-OAEP
	// encryption with the public key.
	RemoteWrap bool
}

// KEK is a Key Vault key as a cse.KeyEncryptionKey. It holds no secret:
// only the vault client, the key's name and version, and its public key.
type KEK struct {
	client        *azkeys.Client
	name, version string
	kid           string
	alg           string
	pub           *rsa.PublicKey // nil: wrap remotely
	canWrap       bool
	notBefore     *time.Time
	expires       *time.Time
}

// New fetches key name at version ("" for the current one) and returns it
// as a KEK whose id is the versioned key URL.
func New(ctx context.Context, client *azkeys.Client, name, version string, o *Options) (*KEK, error) {
	if o == nil {
		o = &Options{}
	}
	resp, err := client.GetKey(ctx, name, version, nil)
	if err != nil {
		return nil, fmt.Errorf("csekv: getting key %s: %w", name, err)
	}
	jwk := resp.Key
	if jwk == nil || jwk.KID == nil || jwk.Kty == nil {
		return nil, fmt.Errorf("csekv: key %s: the vault sent no key", name)
	}
	k := &KEK{client: client, name: jwk.KID.Name(), version: jwk.KID.Version(), kid: string(*jwk.KID), alg: o.Algorithm}
	if k.version == "" {
		return nil, fmt.Errorf("csekv: key %s: the vault sent an unversioned key id %q", name, k.kid)
	}
	if a := resp.Attributes; a != nil {
		if a.Enabled != nil && !*a.Enabled {
			return nil, fmt.Errorf("csekv: key %s is disabled", k.kid)
		}
		k.notBefore, k.expires = a.NotBefore, a.Expires
	}
	k.canWrap = slices.ContainsFunc(jwk.KeyOps, func(op *azkeys.KeyOperation) bool { return op != nil && *op == azkeys.KeyOperationWrapKey })

	switch *jwk.Kty {
	case azkeys.KeyTypeRSA, azkeys.KeyTypeRSAHSM:
		if k.alg == "" {
			k.alg = cse.RSAOAEP256
		}
		if k.alg != cse.RSAOAEP256 && k.alg != cse.RSAOAEP {
			return nil, fmt.Errorf("%w: RSA key %s wraps with %s or %s, not %q", cse.ErrUnsupported, k.kid, cse.RSAOAEP256, cse.RSAOAEP, k.alg)
		}
		if !o.RemoteWrap {
			if len(jwk.N) == 0 || len(jwk.E) == 0 {
				return nil, fmt.Errorf("csekv: key %s: the vault sent no public key", k.kid)
			}
			e := new(big.Int).SetBytes(jwk.E)
			if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
				return nil, fmt.Errorf("csekv: key %s: public exponent out of range", k.kid)
			}
			k.pub = &rsa.PublicKey{N: new(big.Int).SetBytes(jwk.N), E: int(e.Int64())}
			if k.pub.N.BitLen() < 2048 {
				return nil, fmt.Errorf("csekv: key %s is %d bits; at least 2048 are needed", k.kid, k.pub.N.BitLen())
			}
		}
	case azkeys.KeyTypeOct, azkeys.KeyTypeOctHSM:
		if k.alg == "" {
			k.alg = cse.A256KW
		}
		if k.alg != cse.A256KW && k.alg != cse.A192KW && k.alg != cse.A128KW {
			return nil, fmt.Errorf("%w: symmetric key %s wraps with A*KW, not %q", cse.ErrUnsupported, k.kid, k.alg)
		}
	default:
		return nil, fmt.Errorf("%w: key %s is %s; only RSA and symmetric keys wrap", cse.ErrUnsupported, k.kid, *jwk.Kty)
	}
	return k, nil
}

// KeyID implements cse.KeyEncryptionKey: the versioned key URL.
func (k *KEK) KeyID() string { return k.kid }

// Algorithm implements cse.KeyEncryptionKey.
func (k *KEK) Algorithm() string { return k.alg }

// String names the key.
func (k *KEK) String() string { return fmt.Sprintf("csekv.KEK(%s, %q)", k.alg, k.kid) }

// WrapKey implements cse.KeyEncryptionKey, locally with the public key or
// through the vault (see the package documentation).
func (k *KEK) WrapKey(ctx context.Context, cek []byte) ([]byte, error) {
	if k.pub == nil {
		r, err := k.client.WrapKey(ctx, k.name, k.version, azkeys.KeyOperationParameters{
			Algorithm: to.Ptr(azkeys.EncryptionAlgorithm(k.alg)), Value: cek}, nil)
		if err != nil {
			return nil, fmt.Errorf("csekv: wrapping with %s: %w", k.kid, err)
		}
		return r.Result, nil
	}
	if !k.canWrap {
		return nil, fmt.Errorf("csekv: key %s does not allow wrapKey", k.kid)
	}
	now := time.Now()
	if k.notBefore != nil && now.Before(*k.notBefore) || k.expires != nil && now.After(*k.expires) {
		return nil, fmt.Errorf("csekv: key %s is outside its validity period", k.kid)
	}
	h := crypto.SHA256
	if k.alg == cse.RSAOAEP {
		h = crypto.SHA1
	}
	return rsa.EncryptOAEP(h.New(), rand.Reader, k.pub, cek, nil)
}

// UnwrapKey implements cse.KeyEncryptionKey through the vault's unwrapKey.
// A vault that refuses the wrapped bytes as a bad parameter (they do not
// decrypt under this key) gives cse.ErrDecrypt; anything else, such as a
// denied or failed request, is returned as it is.
func (k *KEK) UnwrapKey(ctx context.Context, wrapped []byte, algorithm string) ([]byte, error) {
	r, err := k.client.UnwrapKey(ctx, k.name, k.version, azkeys.KeyOperationParameters{
		Algorithm: to.Ptr(azkeys.EncryptionAlgorithm(algorithm)), Value: wrapped}, nil)
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest && re.ErrorCode == "BadParameter" {
		return nil, cse.ErrDecrypt
	}
	if err != nil {
		return nil, fmt.Errorf("csekv: unwrapping with %s: %w", k.kid, err)
	}
	return r.Result, nil
}
