package e2e

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// Benchmarks of the whole path (Go SDK → HTTP → edge → blob → sse → stores)
// against an in-process server. bench/blob measures the same next to Azurite.

func benchServer(b *testing.B) (*testServer, *azblob.Client) {
	ts := startServer(b)
	c := ts.clientNoRetry(b)
	if _, err := c.CreateContainer(ctx(b), "bench", nil); err != nil {
		b.Fatal(err)
	}
	return ts, c
}

func BenchmarkPut4KiB(b *testing.B) {
	_, c := benchServer(b)
	cc := c.ServiceClient().NewContainerClient("bench")
	data := make([]byte, 4096)
	var n atomic.Int64
	b.SetBytes(4096)
	b.SetParallelism(8) // 16 clients on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cc.NewBlockBlobClient(fmt.Sprint(n.Add(1))).UploadBuffer(ctx(b), data, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkGet4KiB(b *testing.B) {
	_, c := benchServer(b)
	cc := c.ServiceClient().NewContainerClient("bench")
	for i := 0; i < 256; i++ {
		if _, err := cc.NewBlockBlobClient(fmt.Sprint(i)).UploadBuffer(ctx(b), make([]byte, 4096), nil); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.SetBytes(4096)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 4096)
		for pb.Next() {
			resp, err := cc.NewBlobClient(fmt.Sprint(n.Add(1)%256)).DownloadStream(ctx(b), nil)
			if err != nil {
				b.Error(err)
				return
			}
			io.ReadFull(resp.Body, buf)
			resp.Body.Close()
		}
	})
}

func BenchmarkUpload64MiB(b *testing.B) {
	_, c := benchServer(b)
	bb := c.ServiceClient().NewContainerClient("bench").NewBlockBlobClient("big")
	data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		// 4 MiB blocks staged 4 at a time, then committed: what UploadBuffer
		// does for blobs past its single-request size
		ids := make([]string, len(data)/(4<<20))
		sem := make(chan struct{}, 4)
		var wg sync.WaitGroup
		for i := range ids {
			ids[i] = b64(fmt.Sprintf("block-%05d", i))
			wg.Add(1)
			sem <- struct{}{}
			go func(i int) {
				defer func() { <-sem; wg.Done() }()
				part := data[i<<22 : (i+1)<<22]
				if _, err := bb.StageBlock(ctx(b), ids[i], body(part), nil); err != nil {
					b.Error(err)
				}
			}(i)
		}
		wg.Wait()
		if _, err := bb.CommitBlockList(ctx(b), ids, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDownload64MiB(b *testing.B) {
	_, c := benchServer(b)
	bb := c.ServiceClient().NewContainerClient("bench").NewBlockBlobClient("big")
	data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20)
	if _, err := bb.UploadBuffer(ctx(b), data, &blockblob.UploadBufferOptions{BlockSize: 4 << 20, Concurrency: 4}); err != nil {
		b.Fatal(err)
	}
	got := make([]byte, len(data))
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := bb.DownloadBuffer(ctx(b), got, &blob.DownloadBufferOptions{BlockSize: 4 << 20, Concurrency: 4}); err != nil {
			b.Fatal(err)
		}
	}
}
