package csetransfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/atrest/atrest/cse"
	"github.com/atrest/atrest/cse/cseblob"
)

// ErrSourceChanged is returned when a resumed upload finds a block whose
// plaintext differs from what was encrypted before the interruption.
var ErrSourceChanged = errors.New("csetransfer: the source file changed since the interrupted upload; remove the state file to start over")

// DefaultUploadBlock is the plaintext bytes per staged block: two 2.0 regions.
const DefaultUploadBlock = 2 * cse.DefaultRegionSize

// UploadOptions adjust Upload.
type UploadOptions struct {
	// StatePath keeps the progress of the upload; empty means not resumable.
	// It is removed once the blob is committed.
	StatePath string
	// BlockSize is the plaintext bytes per block, rounded up to whole
	// regions (default DefaultUploadBlock, raised to stay within 50,000 blocks).
	BlockSize int64
	// Concurrency is the blocks in flight (default 4).
	Concurrency int
	// Metadata is stored beside the encryption document.
	Metadata map[string]*string
	// Progress is called with the plaintext bytes done (including those a
	// resumed upload had already staged) and the file size.
	Progress func(done, total int64)
}

// UploadResult says what an upload did.
type UploadResult struct {
	Size    int64 // plaintext bytes
	Blocks  int   // blocks in the blob
	Staged  int   // blocks sent by this call
	Resumed bool  // an earlier attempt's state was used
}

type uploadState struct {
	Version        int          `json:"version"`
	Container      string       `json:"container"`
	Blob           string       `json:"blob"`
	SourceSize     int64        `json:"source_size"`
	SourceModTime  time.Time    `json:"source_mtime"`
	BlockSize      int64        `json:"block_size"`
	BlockIDPrefix  string       `json:"block_id_prefix"`
	EncryptionData string       `json:"encryption_data"` // wrapped content key only
	Blocks         []blockState `json:"blocks"`
}

type blockState struct {
	SHA256 string `json:"sha256,omitempty"` // of the plaintext, saved before staging
	Staged bool   `json:"staged,omitempty"`
}

// Upload encrypts the file at path into container/blob as a block blob.
// With StatePath set, an interrupted upload resumes when called again with
// the same arguments; a source whose size or modification time changed
// starts over under a new content key.
func Upload(ctx context.Context, c *cseblob.Client, container, blob, path string, o UploadOptions) (UploadResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return UploadResult{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return UploadResult{}, err
	}
	size := fi.Size()
	enc := c.Encrypter()
	if enc.LegacyProtocol1 || size == 0 {
		// 1.0 is one CBC chain and cannot resume; an empty file is one request.
		_, err := c.Upload(ctx, container, blob, f, &cseblob.UploadOptions{Metadata: o.Metadata, Concurrency: o.Concurrency})
		if err == nil && o.Progress != nil {
			o.Progress(size, size)
		}
		return UploadResult{Size: size, Blocks: 1, Staged: 1}, errors.Join(err, removeState(o.StatePath))
	}

	st, be, resumed, err := openUpload(ctx, enc, container, blob, fi, o)
	if err != nil {
		return UploadResult{}, err
	}
	u := &uploader{ctx: ctx, f: f, be: be, st: st, statePath: o.StatePath,
		bb: c.BlockBlobClient(container, blob), progress: o.Progress}
	res := UploadResult{Size: size, Blocks: len(st.Blocks), Resumed: resumed}
	if res.Staged, err = u.stageAll(max(o.Concurrency, 1)); err != nil {
		return res, err
	}
	md := make(map[string]*string, len(o.Metadata)+1)
	for k, v := range o.Metadata {
		md[k] = v
	}
	md[cse.MetadataKey] = &st.EncryptionData
	ids := make([]string, len(st.Blocks))
	for i := range ids {
		ids[i] = cseblob.BlockID(st.BlockIDPrefix, i)
	}
	if _, err := u.bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{Metadata: md}); err != nil {
		return res, err
	}
	return res, removeState(o.StatePath)
}

// openUpload resumes the state at o.StatePath when it describes this
// upload of this file, or starts a new one under a fresh content key.
func openUpload(ctx context.Context, enc *cse.Encrypter, container, blob string, fi os.FileInfo, o UploadOptions) (*uploadState, *cse.BlobEncryptor, bool, error) {
	if o.StatePath != "" {
		var st uploadState
		found, err := loadJSON(o.StatePath, &st)
		if err != nil {
			return nil, nil, false, fmt.Errorf("csetransfer: reading %s: %w", o.StatePath, err)
		}
		if found && (st.Container != container || st.Blob != blob) {
			return nil, nil, false, fmt.Errorf("csetransfer: %s belongs to an upload to %s/%s", o.StatePath, st.Container, st.Blob)
		}
		if found && st.Version == stateVersion && st.SourceSize == fi.Size() && st.SourceModTime.Equal(fi.ModTime()) &&
			st.BlockSize > 0 && int64(len(st.Blocks)) == ceilDiv(st.SourceSize, st.BlockSize) {
			be, err := enc.ResumeBlob(ctx, st.EncryptionData)
			if err != nil {
				return nil, nil, false, fmt.Errorf("csetransfer: resuming: %w", err)
			}
			return &st, be, true, nil
		}
	}
	be, err := enc.NewBlob(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	bs := uploadBlockSize(o.BlockSize, be.RegionSize(), fi.Size())
	st := &uploadState{Version: stateVersion, Container: container, Blob: blob, SourceSize: fi.Size(), SourceModTime: fi.ModTime(),
		BlockSize: bs, BlockIDPrefix: cseblob.NewBlockIDPrefix(), EncryptionData: be.Metadata(),
		Blocks: make([]blockState, ceilDiv(fi.Size(), bs))}
	if o.StatePath != "" {
		if err := saveJSON(o.StatePath, st); err != nil {
			return nil, nil, false, err
		}
	}
	return st, be, false, nil
}

// uploadBlockSize is whole regions, at least enough to stay within the
// service's 50,000 blocks.
func uploadBlockSize(want, region, size int64) int64 {
	if want <= 0 {
		want = DefaultUploadBlock
	}
	want = max(want, ceilDiv(size, 50000))
	return ceilDiv(want, region) * region
}

type uploader struct {
	ctx       context.Context
	f         io.ReaderAt
	be        *cse.BlobEncryptor
	bb        *blockblob.Client
	statePath string
	progress  func(done, total int64)

	mu   sync.Mutex // guards st, done and the state file
	st   *uploadState
	done int64
}

// stageAll stages every block not yet staged, conc at a time.
func (u *uploader) stageAll(conc int) (int, error) {
	ctx, cancel := context.WithCancelCause(u.ctx)
	defer cancel(nil)
	var todo []int
	for i, b := range u.st.Blocks {
		if b.Staged {
			u.done += u.plainLen(i)
		} else {
			todo = append(todo, i)
		}
	}
	u.reportLocked() // no worker runs yet
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(conc, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := u.stage(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for _, i := range todo {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	return len(todo), nil
}

func (u *uploader) plainLen(i int) int64 {
	off := int64(i) * u.st.BlockSize
	return min(u.st.BlockSize, u.st.SourceSize-off)
}

// stage reads, hashes, records, encrypts and sends block i.
func (u *uploader) stage(ctx context.Context, i int) error {
	if ctx.Err() != nil {
		return nil
	}
	off, n := int64(i)*u.st.BlockSize, u.plainLen(i)
	pt := make([]byte, n)
	if _, err := u.f.ReadAt(pt, off); err != nil {
		return fmt.Errorf("csetransfer: reading the source: %w", err)
	}
	sum := sha256.Sum256(pt)
	hash := hex.EncodeToString(sum[:])
	if err := u.update(func(b *blockState) error {
		if b.SHA256 != "" && b.SHA256 != hash {
			return ErrSourceChanged
		}
		b.SHA256 = hash
		return nil
	}, i); err != nil {
		return err
	}
	r, err := u.be.NewReaderAt(bytes.NewReader(pt), off)
	if err != nil {
		return err
	}
	ct, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if _, err := u.bb.StageBlock(ctx, cseblob.BlockID(u.st.BlockIDPrefix, i), streaming.NopCloser(bytes.NewReader(ct)), nil); err != nil {
		return err
	}
	return u.update(func(b *blockState) error { b.Staged = true; u.done += n; return nil }, i)
}

// update changes block i's state and saves it before returning.
func (u *uploader) update(change func(*blockState) error, i int) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := change(&u.st.Blocks[i]); err != nil {
		return err
	}
	u.reportLocked()
	if u.statePath == "" {
		return nil
	}
	return saveJSON(u.statePath, u.st)
}

// reportLocked calls Progress under u.mu, so counts never go backwards.
func (u *uploader) reportLocked() {
	if u.progress != nil {
		u.progress(u.done, u.st.SourceSize)
	}
}

func removeState(path string) error {
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
