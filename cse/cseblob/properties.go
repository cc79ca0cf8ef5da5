package cseblob

import (
	"context"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/atrest/atrest/cse"
)

// Properties are a blob's properties seen through the encryption.
type Properties struct {
	// Size is the plaintext size, or -1 for protocol 1.0 (known only after
	// decrypting the last block).
	Size int64
	// Metadata is the blob metadata without the encryption document.
	Metadata map[string]*string
	// EncryptionData is nil for a blob that is not client-side encrypted.
	EncryptionData *cse.EncryptionData
	// Raw is the service's answer; its sizes and hashes are the ciphertext's.
	Raw blob.GetPropertiesResponse
}

// GetProperties reads the properties of container/blob. The encryption
// document is parsed but no key is unwrapped.
func (c *Client) GetProperties(ctx context.Context, container, blobName string, o *blob.GetPropertiesOptions) (Properties, error) {
	raw, err := c.BlockBlobClient(container, blobName).GetProperties(ctx, o)
	if err != nil {
		return Properties{}, err
	}
	p := Properties{Size: deref(raw.ContentLength), Metadata: userMetadata(raw.Metadata), Raw: raw}
	doc, ok := encryptionData(raw.Metadata)
	if !ok {
		if c.dec.RequireEncryption {
			return Properties{}, cse.ErrNotEncrypted
		}
		return p, nil
	}
	if p.EncryptionData, err = cse.ParseEncryptionData([]byte(doc)); err != nil {
		return Properties{}, err
	}
	if p.Size, err = p.EncryptionData.PlaintextSize(p.Size); err != nil {
		return Properties{}, err
	}
	return p, nil
}

// SetMetadataOptions adjust SetMetadata.
type SetMetadataOptions struct {
	// AccessConditions apply to both the read and the write; without an
	// If-Match of the caller's, the write is pinned to the ETag read.
	AccessConditions *blob.AccessConditions
}

// ErrReservedMetadata is returned for caller metadata that names the
// encryption document.
var ErrReservedMetadata = errors.New("cseblob: metadata " + cse.MetadataKey + " is reserved for the encryption document")

// SetMetadata replaces the metadata of container/blob with md and keeps the
// encryption document, which azblob's SetMetadata would drop. The document
// is read and written back under the ETag it was read from, so a blob
// replaced in between fails with 412 rather than getting the wrong document.
func (c *Client) SetMetadata(ctx context.Context, container, blobName string, md map[string]*string, o *SetMetadataOptions) (blob.SetMetadataResponse, error) {
	if _, ok := encryptionData(md); ok {
		return blob.SetMetadataResponse{}, ErrReservedMetadata
	}
	bb := c.BlockBlobClient(container, blobName)
	var ac *blob.AccessConditions
	if o != nil {
		ac = o.AccessConditions
	}
	props, err := bb.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: ac})
	if err != nil {
		return blob.SetMetadataResponse{}, err
	}
	out := md
	if doc, ok := encryptionData(props.Metadata); ok {
		out, _ = withEncryptionData(md, doc)
	} else if c.dec.RequireEncryption {
		return blob.SetMetadataResponse{}, cse.ErrNotEncrypted
	}
	return bb.SetMetadata(ctx, out, &blob.SetMetadataOptions{AccessConditions: pinTo(ac, props.ETag)})
}

// pinTo is ac with If-Match set to etag unless the caller set one.
func pinTo(ac *blob.AccessConditions, etag *azcore.ETag) *blob.AccessConditions {
	out := blob.AccessConditions{}
	if ac != nil {
		out = *ac
	}
	mac := blob.ModifiedAccessConditions{}
	if out.ModifiedAccessConditions != nil {
		mac = *out.ModifiedAccessConditions
	}
	if mac.IfMatch == nil {
		mac.IfMatch = etag
	}
	out.ModifiedAccessConditions = &mac
	return &out
}
