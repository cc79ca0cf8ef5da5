package cse

import (
	"context"
	"io"
)

// BlobWriter encrypts what is written to it into dst, for producers that
// write rather than being read from (an encoder, a compressor, a tar
// stream). The metadata is known before the first write. Close must be
// called: it writes the last region and reports the first error.
type BlobWriter struct {
	*EncryptedBlob
	pw   *io.PipeWriter
	done chan error
}

// EncryptBlobTo starts encrypting into dst. Memory use is one region, as
// for EncryptBlob, whose reader side it drives into dst.
func (e *Encrypter) EncryptBlobTo(ctx context.Context, dst io.Writer) (*BlobWriter, error) {
	pr, pw := io.Pipe()
	blob, err := e.EncryptBlob(ctx, pr)
	if err != nil {
		return nil, err
	}
	w := &BlobWriter{EncryptedBlob: blob, pw: pw, done: make(chan error, 1)}
	go func() {
		_, err := blob.WriteTo(dst)
		// a failed dst fails the writer's next Write
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w, nil
}

// Write encrypts p into dst (a region at a time: it returns once the
// region p completes, if any, is written).
func (w *BlobWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

// Close ends the plaintext, waits for the last region to reach dst, and
// returns the first error of the stream.
func (w *BlobWriter) Close() error {
	w.pw.Close()
	return <-w.done
}
