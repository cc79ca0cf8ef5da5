package cseblob

import (
	"context"
	"io"
	"math"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/atrest/atrest/cse"
)

// DownloadOptions adjust one download.
type DownloadOptions struct {
	// Range is in plaintext bytes; the zero value is the whole blob and a
	// zero Count means "to the end".
	Range blob.HTTPRange
	// AccessConditions apply to the first request; a ranged download then
	// pins its data request to the ETag the metadata came from.
	AccessConditions *blob.AccessConditions
}

// DownloadResponse is a download in progress.
type DownloadResponse struct {
	// Body yields the plaintext of the requested range; close it. A
	// region's plaintext is released only after its tag verifies, and a
	// failure is cse.ErrDecrypt.
	Body io.ReadCloser
	// Size is the plaintext size of the whole blob, or -1 when it cannot be
	// known before reading to the end (protocol 1.0).
	Size         int64
	ETag         *azcore.ETag
	LastModified *time.Time
	ContentType  *string
	// Metadata is the blob metadata without the encryption document.
	Metadata map[string]*string
	// EncryptionData is the blob's document, nil for an unencrypted blob
	// returned as it is (only without RequireEncryption).
	EncryptionData *cse.EncryptionData
}

// Download reads and decrypts container/blob, or a plaintext range of it.
// A whole-blob download is one request; a ranged one reads the properties
// first, then fetches only the regions (or, for 1.0, CBC blocks and the
// block before them) that hold the range.
func (c *Client) Download(ctx context.Context, container, blobName string, o *DownloadOptions) (DownloadResponse, error) {
	if o == nil {
		o = &DownloadOptions{}
	}
	bc := c.BlockBlobClient(container, blobName).BlobClient()
	if o.Range == (blob.HTTPRange{}) {
		return c.downloadWhole(ctx, bc, o)
	}
	props, err := bc.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: o.AccessConditions})
	if err != nil {
		return DownloadResponse{}, err
	}
	resp := DownloadResponse{ETag: props.ETag, LastModified: props.LastModified, ContentType: props.ContentType, Metadata: userMetadata(props.Metadata)}
	pinned := pinTo(o.AccessConditions, props.ETag)
	size := deref(props.ContentLength)

	doc, ok := encryptionData(props.Metadata)
	if !ok {
		if c.dec.RequireEncryption {
			return DownloadResponse{}, cse.ErrNotEncrypted
		}
		d, err := bc.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: o.Range, AccessConditions: pinned})
		if err != nil {
			return DownloadResponse{}, err
		}
		resp.Body, resp.Size = d.NewRetryReader(ctx, nil), size
		return resp, nil
	}
	bd, err := c.dec.OpenBlob(ctx, doc)
	if err != nil {
		return DownloadResponse{}, err
	}
	resp.EncryptionData, resp.Size = bd.EncryptionData(), plaintextSize(bd.EncryptionData(), size)
	length := o.Range.Count
	if length == 0 {
		length = math.MaxInt64 - o.Range.Offset
	}
	rng, err := bd.CiphertextRange(o.Range.Offset, length, size)
	if err != nil {
		return DownloadResponse{}, err
	}
	d, err := bc.DownloadStream(ctx, &blob.DownloadStreamOptions{
		Range: blob.HTTPRange{Offset: rng.First, Count: rng.Length()}, AccessConditions: pinned,
	})
	if err != nil {
		return DownloadResponse{}, err
	}
	body := d.NewRetryReader(ctx, nil)
	pt, err := bd.NewRangeReader(body, o.Range.Offset, length, size)
	if err != nil {
		body.Close()
		return DownloadResponse{}, err
	}
	resp.Body = readCloser{pt, body}
	return resp, nil
}

func (c *Client) downloadWhole(ctx context.Context, bc *blob.Client, o *DownloadOptions) (DownloadResponse, error) {
	d, err := bc.DownloadStream(ctx, &blob.DownloadStreamOptions{AccessConditions: o.AccessConditions})
	if err != nil {
		return DownloadResponse{}, err
	}
	body := d.NewRetryReader(ctx, nil)
	resp := DownloadResponse{ETag: d.ETag, LastModified: d.LastModified, ContentType: d.ContentType, Metadata: userMetadata(d.Metadata)}
	size := deref(d.ContentLength)
	doc, ok := encryptionData(d.Metadata)
	if !ok {
		if c.dec.RequireEncryption {
			body.Close()
			return DownloadResponse{}, cse.ErrNotEncrypted
		}
		resp.Body, resp.Size = body, size
		return resp, nil
	}
	bd, err := c.dec.OpenBlob(ctx, doc)
	if err != nil {
		body.Close()
		return DownloadResponse{}, err
	}
	resp.EncryptionData = bd.EncryptionData()
	resp.Size = plaintextSize(resp.EncryptionData, size)
	if resp.Size >= 0 {
		// The served length is known: a stream cut short or run long fails
		// instead of ending early.
		resp.Body = readCloser{bd.NewReaderSize(body, resp.Size), body}
	} else {
		resp.Body = readCloser{bd.NewReader(body), body}
	}
	return resp, nil
}

// plaintextSize is the plaintext size for a stored size, -1 for 1.0 (known
// only from the padding) and for stored sizes no plaintext produces (the
// read then fails).
func plaintextSize(ed *cse.EncryptionData, stored int64) int64 {
	n, err := ed.PlaintextSize(stored)
	if err != nil {
		return -1
	}
	return n
}

type readCloser struct {
	io.Reader
	io.Closer
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
