package cseblob

import (
	"errors"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/atrest/atrest/cse"
)

// Options configure a Client.
type Options struct {
	// KEK wraps the content key of every upload and unwraps downloads whose
	// key id it has. Required for uploads.
	KEK cse.KeyEncryptionKey
	// Resolver finds the KEK for downloads written under other key ids.
	Resolver cse.KeyResolver
	// RequireEncryption refuses to download blobs that carry no encryption
	// metadata (cse.ErrNotEncrypted) instead of returning them unchanged.
	RequireEncryption bool
	// RegionSize, other than 0 or 4 MiB, uploads protocol 2.1 with that many
	// plaintext bytes per region. Older readers (Python before 12.20) know
	// only 2.0.
	RegionSize int64
	// LegacyProtocol1 uploads protocol 1.0 (AES-CBC without integrity,
	// CVE-2022-30187) for readers that know nothing newer.
	LegacyProtocol1 bool
	// AllowAnyNonce accepts 2.x regions whose nonces follow none of the SDK
	// layouts; reordered regions then go unnoticed.
	AllowAnyNonce bool
}

// Client encrypts and decrypts block blobs through an azblob.Client.
type Client struct {
	az  *azblob.Client
	enc cse.Encrypter
	dec cse.Decrypter
}

// NewClient wraps az. The Client keeps no other state and is safe for
// concurrent use.
func NewClient(az *azblob.Client, o Options) (*Client, error) {
	if az == nil {
		return nil, errors.New("cseblob: nil azblob client")
	}
	if o.KEK == nil && o.Resolver == nil {
		return nil, errors.New("cseblob: a KEK or a key resolver is required")
	}
	return &Client{
		az:  az,
		enc: cse.Encrypter{KEK: o.KEK, RegionSize: o.RegionSize, LegacyProtocol1: o.LegacyProtocol1},
		dec: cse.Decrypter{KEK: o.KEK, Resolver: o.Resolver, RequireEncryption: o.RequireEncryption, AllowAnyNonce: o.AllowAnyNonce},
	}, nil
}

// Encrypter is the encrypter uploads use, for callers that stage blocks
// themselves (resumable transfers).
func (c *Client) Encrypter() *cse.Encrypter {
	e := c.enc
	return &e
}

// BlockBlobClient is the plain azblob client of one blob. Data written or
// read through it is not encrypted or decrypted.
func (c *Client) BlockBlobClient(container, blob string) *blockblob.Client {
	return c.az.ServiceClient().NewContainerClient(container).NewBlockBlobClient(blob)
}

// encryptionData finds the document in metadata. Response metadata keys
// arrive canonicalized ("Encryptiondata"), so the match ignores case.
func encryptionData(md map[string]*string) (string, bool) {
	for k, v := range md {
		if strings.EqualFold(k, cse.MetadataKey) && v != nil {
			return *v, true
		}
	}
	return "", false
}

// userMetadata is md without the encryption document.
func userMetadata(md map[string]*string) map[string]*string {
	out := make(map[string]*string, len(md))
	for k, v := range md {
		if !strings.EqualFold(k, cse.MetadataKey) {
			out[k] = v
		}
	}
	return out
}

// withEncryptionData adds the document to a copy of the caller's metadata,
// which must not carry one of its own.
func withEncryptionData(md map[string]*string, doc string) (map[string]*string, error) {
	if _, ok := encryptionData(md); ok {
		return nil, ErrReservedMetadata
	}
	out := make(map[string]*string, len(md)+1)
	for k, v := range md {
		out[k] = v
	}
	out[cse.MetadataKey] = &doc
	return out, nil
}
