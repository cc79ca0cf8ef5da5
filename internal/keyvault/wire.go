package keyvault

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// b64 is binary data in Key Vault's JSON: base64url without padding.
// Input is accepted padded or not, and in the standard alphabet too.
type b64 []byte

func (b b64) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.RawURLEncoding.EncodeToString(b))
}

func (b *b64) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, err := decodeB64(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// attributesJSON are a key's management attributes; times are unix seconds.
type attributesJSON struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         *int64 `json:"created,omitempty"`
	Updated         *int64 `json:"updated,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
	RecoverableDays *int   `json:"recoverableDays,omitempty"`
	Exportable      *bool  `json:"exportable,omitempty"`
}

// publicJWK is the only key shape responses carry: public parts only, by
// construction (it has no fields for private material).
type publicJWK struct {
	KID    string   `json:"kid"`
	Kty    string   `json:"kty"`
	KeyOps []string `json:"key_ops"`
	N      b64      `json:"n,omitempty"`
	E      b64      `json:"e,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	X      b64      `json:"x,omitempty"`
	Y      b64      `json:"y,omitempty"`
}

// importJWK is a key as import requests carry it.
type importJWK struct {
	Kty    string   `json:"kty"`
	KeyOps []string `json:"key_ops"`
	N      b64      `json:"n"`
	E      b64      `json:"e"`
	D      b64      `json:"d"`
	P      b64      `json:"p"`
	Q      b64      `json:"q"`
	DP     b64      `json:"dp"`
	DQ     b64      `json:"dq"`
	QI     b64      `json:"qi"`
	Crv    string   `json:"crv"`
	X      b64      `json:"x"`
	Y      b64      `json:"y"`
	K      b64      `json:"k"`
	T      b64      `json:"key_hsm"` // BYOK transfer blob
}

// wipe clears private material once it has been parsed.
func (k *importJWK) wipe() {
	for _, b := range [][]byte{k.D, k.P, k.Q, k.DP, k.DQ, k.QI, k.K, k.T} {
		clear(b)
	}
}

type keyBundle struct {
	Key        publicJWK         `json:"key"`
	Attributes attributesJSON    `json:"attributes"`
	Tags       map[string]string `json:"tags,omitempty"`
	Managed    bool              `json:"managed,omitempty"`
	// Deleted-key fields.
	RecoveryID         string `json:"recoveryId,omitempty"`
	DeletedDate        int64  `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate,omitempty"`
}

type keyItem struct {
	KID                string            `json:"kid"`
	Attributes         attributesJSON    `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
	Managed            bool              `json:"managed,omitempty"`
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        int64             `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64             `json:"scheduledPurgeDate,omitempty"`
}

type listResult struct {
	Value    []keyItem `json:"value"`
	NextLink *string   `json:"nextLink"`
}

type createParams struct {
	Kty            string            `json:"kty"`
	KeySize        int               `json:"key_size"`
	PublicExponent int               `json:"public_exponent"`
	Curve          string            `json:"crv"`
	KeyOps         []string          `json:"key_ops"`
	Attributes     *attributesJSON   `json:"attributes"`
	Tags           map[string]string `json:"tags"`
	ReleasePolicy  json.RawMessage   `json:"release_policy"`
}

type importParams struct {
	Key           *importJWK        `json:"key"`
	HSM           *bool             `json:"Hsm"`
	Attributes    *attributesJSON   `json:"attributes"`
	Tags          map[string]string `json:"tags"`
	ReleasePolicy json.RawMessage   `json:"release_policy"`
}

type updateParams struct {
	KeyOps        []string          `json:"key_ops"`
	Attributes    *attributesJSON   `json:"attributes"`
	Tags          map[string]string `json:"tags"`
	ReleasePolicy json.RawMessage   `json:"release_policy"`
}

type keyOpParams struct {
	Alg    string `json:"alg"`
	Value  b64    `json:"value"`
	IV     b64    `json:"iv"`
	AAD    b64    `json:"aad"`
	Tag    b64    `json:"tag"`
	Digest b64    `json:"digest"` // verify only
}

type keyOpResult struct {
	KID   string `json:"kid"`
	Value b64    `json:"value"`
	IV    b64    `json:"iv,omitempty"`
	Tag   b64    `json:"tag,omitempty"`
	AAD   b64    `json:"aad,omitempty"`
}

type verifyResult struct {
	Value bool `json:"value"`
}

type backupResult struct {
	Value b64 `json:"value"`
}

type randomParams struct {
	Count int `json:"count"`
}

type randomResult struct {
	Value b64 `json:"value"`
}
