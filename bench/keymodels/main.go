// Command keymodels measures what each key model costs, in one run on one
// server, all over HTTPS so that the comparison is fair: 64 KiB PUT and GET
// at concurrency 8, and a 64 MiB blob up and down in 4 MiB blocks, under
// service-managed keys, a customer-managed Key Vault key (warm cache), a
// customer-provided key, an encryption scope and double (infrastructure)
// encryption. It prints the figures and their ratios to service-managed.
//
//	go run ./bench/keymodels
//	go run ./bench/keymodels -slices 25
//
// Each workload runs in short slices, the models taking turns slice by
// slice (in a rotating order), and each figure is the median of a model's
// slices. On a small machine throughput drifts by ±15 % within minutes
// (every PUT waits for an fsync); measuring the models side by side, many
// times over, keeps that drift out of the ratios.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
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

// subject is one model's client side: its container, and the key headers
// its requests carry.
type subject struct {
	model
	cc    *container.Client
	cpk   *blob.CPKInfo
	scope *blob.CPKScopeInfo
}

func main() {
	slice := flag.Duration("slice", time.Second, "duration of one 64 KiB slice")
	bigSlice := flag.Duration("big-slice", 500*time.Millisecond, "duration of one large-blob slice (at least one transfer)")
	slices := flag.Int("slices", 15, "slices per model and workload; the median is reported")
	bigMiB := flag.Int("size-mib", 64, "size of the large blob in MiB")
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
	subs := make([]*subject, len(models))
	for i, m := range models {
		subs[i], err = newSubject(srv.BlobURL, hc, m)
		check(err)
	}

	small := fill(smallSize, "small")
	big := fill(*bigMiB<<20, "big")
	got := make([]byte, len(big))
	ctx := context.Background()
	const names = 64 // each PUT worker writes its own names, round robin
	workloads := []struct {
		name string
		d    time.Duration
		run  func(s *subject, d time.Duration) (float64, error)
	}{
		{"PUT", *slice, func(s *subject, d time.Duration) (float64, error) {
			return run(d, func(w, i int) error {
				_, err := s.cc.NewBlockBlobClient(fmt.Sprintf("s%02d-%d", w, i%names)).Upload(ctx, nopCloser{bytes.NewReader(small)},
					&blockblob.UploadOptions{CPKInfo: s.cpk, CPKScopeInfo: s.scope})
				return err
			})
		}},
		{"GET", *slice, func(s *subject, d time.Duration) (float64, error) {
			return run(d, func(w, i int) error {
				r, err := s.cc.NewBlobClient(fmt.Sprintf("s%02d-%d", w, i%names)).DownloadStream(ctx, &blob.DownloadStreamOptions{CPKInfo: s.cpk})
				if err != nil {
					return err
				}
				n, err := drain(r.Body)
				if err == nil && n != smallSize {
					err = fmt.Errorf("read %d bytes", n)
				}
				return err
			})
		}},
		{"up", *bigSlice, func(s *subject, d time.Duration) (float64, error) {
			return repeat(d, len(big), func() error {
				_, err := s.cc.NewBlockBlobClient("big").UploadBuffer(ctx, big, &blockblob.UploadBufferOptions{
					BlockSize: blockSize, Concurrency: 4, CPKInfo: s.cpk, CPKScopeInfo: s.scope})
				return err
			})
		}},
		{"down", *bigSlice, func(s *subject, d time.Duration) (float64, error) {
			mbs, err := repeat(d, len(big), func() error {
				_, err := s.cc.NewBlockBlobClient("big").DownloadBuffer(ctx, got, &blob.DownloadBufferOptions{
					BlockSize: blockSize, Concurrency: 4, CPKInfo: s.cpk})
				return err
			})
			if err == nil && !bytes.Equal(got, big) {
				err = errors.New("the large blob came back different")
			}
			return mbs, err
		}},
	}
	// samples[w][m] are model m's slices of workload w
	samples := make([][][]float64, len(workloads))
	for w, wl := range workloads {
		samples[w] = make([][]float64, len(subs))
		// PUT runs before GET (it writes the names GET reads), up before down
		for k := 0; k < *slices; k++ {
			for j := range subs {
				m := (j + k) % len(subs)
				v, err := wl.run(subs[m], wl.d)
				if err != nil {
					check(fmt.Errorf("%s %s: %w", subs[m].name, wl.name, err))
				}
				samples[w][m] = append(samples[w][m], v)
			}
		}
		fmt.Fprintf(os.Stderr, "%-4s done: %d slices per model\n", wl.name, *slices)
	}
	med := make([]figures, len(subs))
	for m := range subs {
		med[m] = figures{median(samples[0][m]), median(samples[1][m]), median(samples[2][m]), median(samples[3][m])}
	}
	base := med[0]
	fmt.Printf("\n| model | 64 KiB PUT c%d | 64 KiB GET c%d | %d MiB up | %d MiB down | PUT ratio | GET ratio | up ratio | down ratio |\n", concurrency, concurrency, *bigMiB, *bigMiB)
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for i, s := range subs {
		f := med[i]
		fmt.Printf("| %s | %.0f /s | %.0f /s | %.0f MB/s | %.0f MB/s | %.2f | %.2f | %.2f | %.2f |\n", s.name, f.putOps, f.getOps, f.upMBs, f.downMBs,
			f.putOps/base.putOps, f.getOps/base.getOps, f.upMBs/base.upMBs, f.downMBs/base.downMBs)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "keymodels:", err)
		os.Exit(1)
	}
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
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

// newSubject makes a model's client and its container.
func newSubject(blobURL string, hc *http.Client, m model) (*subject, error) {
	cred, err := azblob.NewSharedKeyCredential(m.account, m.key)
	if err != nil {
		return nil, err
	}
	cl, err := azblob.NewClientWithSharedKeyCredential(blobURL+"/"+m.account+"/", cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		return nil, err
	}
	if _, err := cl.CreateContainer(context.Background(), "bench", &container.CreateOptions{}); err != nil {
		return nil, err
	}
	s := &subject{model: m, cc: cl.ServiceClient().NewContainerClient("bench")}
	if m.cpk {
		key := fill(32, "cpk")
		sum := sha256.Sum256(key)
		s.cpk = &blob.CPKInfo{EncryptionKey: to.Ptr(base64.StdEncoding.EncodeToString(key)),
			EncryptionKeySHA256: to.Ptr(base64.StdEncoding.EncodeToString(sum[:])), EncryptionAlgorithm: to.Ptr(blob.EncryptionAlgorithmTypeAES256)}
	}
	if m.scope != "" {
		s.scope = &blob.CPKScopeInfo{EncryptionScope: to.Ptr(m.scope)}
	}
	return s, nil
}

// repeat runs a transfer of size bytes until d has passed (at least
// once) and returns MB/s over all of them.
func repeat(d time.Duration, size int, op func() error) (float64, error) {
	start := time.Now()
	n := 0
	for n < 1 || time.Since(start) < d {
		if err := op(); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n*size) / 1e6 / time.Since(start).Seconds(), nil
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
