package cseblob

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/atrest/atrest/cse"
)

const (
	// DefaultBlockSize is the stored bytes per staged block: two 2.0 regions.
	DefaultBlockSize = 2 * (cse.DefaultRegionSize + 28)
	// DefaultConcurrency is the number of blocks staged at once.
	DefaultConcurrency = 4
	// maxBlocks is the service's limit of blocks per blob.
	maxBlocks = 50000
)

// UploadOptions adjust one upload.
type UploadOptions struct {
	// Metadata is stored beside the encryption document, in clear.
	Metadata map[string]*string
	// HTTPHeaders are stored as given. A Content-MD5 here would describe
	// the plaintext in clear; leave it out.
	HTTPHeaders      *blob.HTTPHeaders
	Tags             map[string]string
	AccessConditions *blob.AccessConditions
	// BlockSize is the stored bytes per block (default DefaultBlockSize).
	// A blob that fits in one block is sent in a single request.
	BlockSize int64
	// Concurrency is the blocks in flight (default DefaultConcurrency).
	// Memory use is about (Concurrency + 1) × BlockSize.
	Concurrency int
	// Progress, when set, is called with the stored bytes sent so far:
	// never concurrently, and with a total that only grows.
	Progress func(sent int64)
}

// UploadResponse describes a finished upload.
type UploadResponse struct {
	ETag           *azcore.ETag
	LastModified   *time.Time
	Size           int64 // stored (ciphertext) bytes
	EncryptionData *cse.EncryptionData
}

// Upload encrypts plaintext into the block blob container/blob, replacing
// it. It streams: memory stays a few blocks whatever the size.
func (c *Client) Upload(ctx context.Context, container, blobName string, plaintext io.Reader, o *UploadOptions) (UploadResponse, error) {
	if o == nil {
		o = &UploadOptions{}
	}
	be, err := c.enc.NewBlob(ctx)
	if err != nil {
		return UploadResponse{}, err
	}
	md, err := withEncryptionData(o.Metadata, be.Metadata())
	if err != nil {
		return UploadResponse{}, err
	}
	blockSize, conc := o.BlockSize, o.Concurrency
	if blockSize <= 0 {
		blockSize = DefaultBlockSize
	}
	if blockSize > blockblob.MaxStageBlockBytes {
		return UploadResponse{}, fmt.Errorf("cseblob: block size %d above the service limit", blockSize)
	}
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	bb := c.BlockBlobClient(container, blobName)
	ct := be.NewReader(plaintext)
	resp := UploadResponse{EncryptionData: be.EncryptionData()}

	first := make([]byte, blockSize)
	n, err := io.ReadFull(ct, first)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return UploadResponse{}, err
	}
	if int64(n) < blockSize { // fits in one request
		r, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(first[:n])), &blockblob.UploadOptions{
			Metadata: md, HTTPHeaders: o.HTTPHeaders, Tags: o.Tags, AccessConditions: o.AccessConditions,
		})
		if err != nil {
			return UploadResponse{}, err
		}
		if o.Progress != nil {
			o.Progress(int64(n))
		}
		resp.ETag, resp.LastModified, resp.Size = r.ETag, r.LastModified, int64(n)
		return resp, nil
	}

	ids, size, err := stageStream(ctx, bb, ct, first, conc, o.Progress)
	if err != nil {
		return UploadResponse{}, err
	}
	r, err := bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{
		Metadata: md, HTTPHeaders: o.HTTPHeaders, Tags: o.Tags, AccessConditions: o.AccessConditions,
	})
	if err != nil {
		return UploadResponse{}, err
	}
	resp.ETag, resp.LastModified, resp.Size = r.ETag, r.LastModified, size
	return resp, nil
}

// stageStream stages ct in blocks of len(first) bytes, first holding the
// first block already read, with conc blocks in flight. It returns the
// block ids in order and the bytes staged.
func stageStream(ctx context.Context, bb *blockblob.Client, ct io.Reader, first []byte, conc int, progress func(int64)) ([]string, int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	prefix := NewBlockIDPrefix()
	free := make(chan []byte, conc) // conc buffers in all: first and conc-1 more
	for range conc - 1 {
		free <- nil // allocated on first use
	}
	var (
		wg    sync.WaitGroup
		ids   []string
		total int64
		sent  atomic.Int64
		buf   = first
		n     = len(first)
	)
	// blocks finish in any order on several goroutines; the callback is
	// called from one at a time, with a total that only grows
	var (
		pmu      sync.Mutex
		reported int64
	)
	report := func(total int64) {
		if progress == nil {
			return
		}
		pmu.Lock()
		defer pmu.Unlock()
		if total > reported {
			reported = total
			progress(total)
		}
	}
	for i := 0; ; i++ {
		if i >= maxBlocks {
			cancel(fmt.Errorf("cseblob: more than %d blocks; raise BlockSize", maxBlocks))
			break
		}
		id := BlockID(prefix, i)
		ids = append(ids, id)
		total += int64(n)
		wg.Add(1)
		go func(buf []byte, n int) {
			defer wg.Done()
			defer func() { free <- buf }()
			if _, err := bb.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(buf[:n])), nil); err != nil {
				cancel(err)
				return
			}
			report(sent.Add(int64(n)))
		}(buf, n)

		select {
		case buf = <-free:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if buf == nil {
			buf = make([]byte, len(first))
		}
		var err error
		n, err = io.ReadFull(ct, buf)
		if err == io.EOF {
			free <- buf
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			cancel(err)
			break
		}
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, 0, err
	}
	return ids, total, nil
}

// NewBlockIDPrefix draws a random prefix for one upload's block ids, so
// that blocks left over from another upload of the same blob never mix in.
func NewBlockIDPrefix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// BlockID is the base64 block id of block i: every id of one blob has the
// same length, as the service requires.
func BlockID(prefix string, i int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "cse-%s-%08d", prefix, i))
}
