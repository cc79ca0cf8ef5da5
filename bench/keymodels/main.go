// Command keymodels measures what each key model costs, in one run on one
// server, all over HTTPS so that the comparison is fair: 64 KiB PUT and GET
// at concurrency 8, and one 64 MiB blob up and down in 4 MiB blocks, under
// service-managed keys, a customer-managed Key Vault key (warm cache), a
// customer-provided key, an encryption scope and double (infrastructure)
// encryption. It prints the figures and their ratios to service-managed.
//
//	go run ./bench/keymodels
//	go run ./bench/keymodels -time 5s -rounds 7
//
// Each figure is the median over the rounds, models interleaved within a
// round: on a small machine one lucky or unlucky round would otherwise move
// a ratio by more than the margin it is judged against.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

const (
	smallSize   = 64 << 10
	concurrency = 8
	blockSize   = 4 << 20
)

// figures are one model's throughputs.
type figures struct {
	putOps, getOps float64 // 64 KiB operations per second
	upMBs, downMBs float64 // the large blob
}

func main() {
	phase := flag.Duration("time", 3*time.Second, "duration of each 64 KiB phase")
	bigMiB := flag.Int("size-mib", 64, "size of the large blob in MiB")
	rounds := flag.Int("rounds", 5, "rounds over all models; the median of each figure is reported")
	flag.Parse()
	dir, err := os.MkdirTemp("", "atrest-keymodels-")
	check(err)
	defer os.RemoveAll(dir)
	srv, err := startServer(dir)
	check(err)
	defer srv.Shutdown(context.Background())
	models, err := setup(srv)
	check(err)
	hc, err := httpsClient(srv.CAFile)
	check(err)

	small := fill(smallSize, "small")
	big := fill(*bigMiB<<20, "big")
	all := make([][]figures, len(models))
	for r := 0; r < *rounds; r++ {
		// models interleaved within each round, so drift hits all alike
		for i, m := range models {
			f, err := measure(srv.BlobURL, hc, m, small, big, *phase, r)
			check(err)
			all[i] = append(all[i], f)
			fmt.Fprintf(os.Stderr, "round %d %-26s PUT %6.0f/s GET %6.0f/s up %5.0f MB/s down %5.0f MB/s\n", r+1, m.name, f.putOps, f.getOps, f.upMBs, f.downMBs)
		}
	}
	med := make([]figures, len(models))
	for i := range models {
		med[i] = medianFigures(all[i])
	}
	base := med[0]
	fmt.Printf("\n| model | 64 KiB PUT c%d | 64 KiB GET c%d | %d MiB up | %d MiB down | PUT ratio | GET ratio | up ratio | down ratio |\n", concurrency, concurrency, *bigMiB, *bigMiB)
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for i, m := range models {
		f := med[i]
		fmt.Printf("| %s | %.0f /s | %.0f /s | %.0f MB/s | %.0f MB/s | %.2f | %.2f | %.2f | %.2f |\n", m.name, f.putOps, f.getOps, f.upMBs, f.downMBs,
			f.putOps/base.putOps, f.getOps/base.getOps, f.upMBs/base.upMBs, f.downMBs/base.downMBs)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "keymodels:", err)
		os.Exit(1)
	}
}

func medianFigures(fs []figures) figures {
	med := func(get func(figures) float64) float64 {
		v := make([]float64, len(fs))
		for i, f := range fs {
			v[i] = get(f)
		}
		slices.Sort(v)
		if n := len(v); n%2 == 0 {
			return (v[n/2-1] + v[n/2]) / 2
		}
		return v[len(v)/2]
	}
	return figures{
		med(func(f figures) float64 { return f.putOps }), med(func(f figures) float64 { return f.getOps }),
		med(func(f figures) float64 { return f.upMBs }), med(func(f figures) float64 { return f.downMBs })}
}

// fill is deterministic, incompressible-looking content.
func fill(n int, seed string) []byte {
	out := make([]byte, 0, n+32)
	h := sha256.Sum256([]byte(seed))
	for len(out) < n {
		h = sha256.Sum256(h[:])
		out = append(out, h[:]...)
	}
	return out[:n]
}

// measure runs the workload against one model's account.
func measure(blobURL string, hc *http.Client, m model, small, big []byte, phase time.Duration, round int) (figures, error) {
	cred, err := azblob.NewSharedKeyCredential(m.account, m.key)
	if err != nil {
		return figures{}, err
	}
	cl, err := azblob.NewClientWithSharedKeyCredential(blobURL+"/"+m.account+"/", cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		return figures{}, err
	}
	ctx := context.Background()
	cont := fmt.Sprintf("bench%d", round)
	if _, err := cl.CreateContainer(ctx, cont, &container.CreateOptions{}); err != nil {
		return figures{}, err
	}
	var cpk *blob.CPKInfo
	if m.cpk {
		key := fill(32, "cpk")
		sum := sha256.Sum256(key)
		cpk = &blob.CPKInfo{EncryptionKey: to.Ptr(base64.StdEncoding.EncodeToString(key)),
			EncryptionKeySHA256: to.Ptr(base64.StdEncoding.EncodeToString(sum[:])), EncryptionAlgorithm: to.Ptr(blob.EncryptionAlgorithmTypeAES256)}
	}
	var scope *blob.CPKScopeInfo
	if m.scope != "" {
		scope = &blob.CPKScopeInfo{EncryptionScope: to.Ptr(m.scope)}
	}
	cc := cl.ServiceClient().NewContainerClient(cont)
	var f figures

	// 64 KiB PUT: workers write to their own names, round robin
	const names = 64
	ops, err := run(phase, func(w, i int) error {
		_, err := cc.NewBlockBlobClient(fmt.Sprintf("s%02d-%d", w, i%names)).Upload(ctx, nopCloser{bytes.NewReader(small)},
			&blockblob.UploadOptions{CPKInfo: cpk, CPKScopeInfo: scope})
		return err
	})
	if err != nil {
		return f, fmt.Errorf("%s PUT: %w", m.name, err)
	}
	f.putOps = ops
	ops, err = run(phase, func(w, i int) error {
		r, err := cc.NewBlobClient(fmt.Sprintf("s%02d-%d", w, i%names)).DownloadStream(ctx, &blob.DownloadStreamOptions{CPKInfo: cpk})
		if err != nil {
			return err
		}
		n, err := drain(r.Body)
		if err == nil && n != smallSize {
			err = fmt.Errorf("read %d bytes", n)
		}
		return err
	})
	if err != nil {
		return f, fmt.Errorf("%s GET: %w", m.name, err)
	}
	f.getOps = ops

	bc := cc.NewBlockBlobClient("big")
	start := time.Now()
	if _, err := bc.UploadBuffer(ctx, big, &blockblob.UploadBufferOptions{BlockSize: blockSize, Concurrency: 4, CPKInfo: cpk, CPKScopeInfo: scope}); err != nil {
		return f, fmt.Errorf("%s upload: %w", m.name, err)
	}
	f.upMBs = float64(len(big)) / 1e6 / time.Since(start).Seconds()
	got := make([]byte, len(big))
	start = time.Now()
	if _, err := bc.DownloadBuffer(ctx, got, &blob.DownloadBufferOptions{BlockSize: blockSize, Concurrency: 4, CPKInfo: cpk}); err != nil {
		return f, fmt.Errorf("%s download: %w", m.name, err)
	}
	f.downMBs = float64(len(big)) / 1e6 / time.Since(start).Seconds()
	if !bytes.Equal(got, big) {
		return f, fmt.Errorf("%s: the large blob came back different", m.name)
	}
	return f, nil
}

// run calls op from concurrency workers for d and returns operations per
// second; the first error stops it.
func run(d time.Duration, op func(worker, i int) error) (float64, error) {
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				if err := op(w, i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), firstErr
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
