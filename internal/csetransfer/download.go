package csetransfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/atrest/atrest/cse/cseblob"
)

// DownloadOptions adjust Download.
type DownloadOptions struct {
	// Progress is called with the plaintext bytes in the file so far and
	// the blob's plaintext size (-1 when unknown: protocol 1.0).
	Progress func(done, total int64)
}

// DownloadResult says what a download did.
type DownloadResult struct {
	Size    int64 // plaintext bytes written in all
	Resumed int64 // bytes kept from an earlier attempt
}

// downloadState ties a partial file to one version of one blob.
type downloadState struct {
	Version   int    `json:"version"`
	Container string `json:"container"`
	Blob      string `json:"blob"`
	ETag      string `json:"etag"`
}

// PartPath is where Download keeps the verified plaintext of an
// unfinished download of dst; its state file is PartPath(dst)+".json".
func PartPath(dst string) string { return dst + ".atrest-part" }

// Download decrypts container/blob into the file dst. The plaintext goes to
// PartPath(dst) as each region verifies, and is renamed to dst at the end;
// called again after an interruption, it asks only for the rest, provided
// the blob's ETag is unchanged (otherwise it starts over).
func Download(ctx context.Context, c *cseblob.Client, container, blobName, dst string, o DownloadOptions) (DownloadResult, error) {
	props, err := c.GetProperties(ctx, container, blobName, nil)
	if err != nil {
		return DownloadResult{}, err
	}
	if props.Raw.ETag == nil {
		return DownloadResult{}, errors.New("csetransfer: the service sent no ETag")
	}
	etag := string(*props.Raw.ETag)
	part, statePath := PartPath(dst), PartPath(dst)+".json"
	want := downloadState{Version: stateVersion, Container: container, Blob: blobName, ETag: etag}

	var offset int64
	var have downloadState
	found, err := loadJSON(statePath, &have)
	if err != nil {
		return DownloadResult{}, fmt.Errorf("csetransfer: reading %s: %w", statePath, err)
	}
	if found && have == want {
		if fi, err := os.Stat(part); err == nil {
			offset = fi.Size()
		}
	}
	if offset == 0 {
		if err := saveJSON(statePath, want); err != nil {
			return DownloadResult{}, err
		}
	}
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return DownloadResult{}, err
	}
	defer f.Close()
	// Plaintext reaches the file only after its region verified, so every
	// byte kept is good; a size beyond the blob means the state is stale.
	if props.Size >= 0 && offset > props.Size {
		offset = 0
	}
	if err := f.Truncate(offset); err != nil {
		return DownloadResult{}, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return DownloadResult{}, err
	}
	res := DownloadResult{Resumed: offset}
	if props.Size < 0 || offset < props.Size {
		d := &cseblob.DownloadOptions{AccessConditions: &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: props.Raw.ETag}}}
		if offset > 0 {
			d.Range = blob.HTTPRange{Offset: offset}
		}
		resp, err := c.Download(ctx, container, blobName, d)
		if err != nil {
			return res, err
		}
		defer resp.Body.Close()
		w := &progressWriter{ctx: ctx, w: f, done: offset, total: props.Size, progress: o.Progress}
		if _, err := io.Copy(w, resp.Body); err != nil {
			return res, err
		}
	}
	if err := f.Sync(); err != nil {
		return res, err
	}
	fi, err := f.Stat()
	if err != nil {
		return res, err
	}
	res.Size = fi.Size()
	if err := f.Close(); err != nil {
		return res, err
	}
	if err := os.Rename(part, dst); err != nil {
		return res, err
	}
	return res, removeState(statePath)
}

// progressWriter reports progress and stops at cancellation even when the
// body is already buffered.
type progressWriter struct {
	ctx      context.Context
	w        io.Writer
	done     int64
	total    int64
	progress func(done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.progress != nil {
		p.progress(p.done, p.total)
	}
	return n, err
}
