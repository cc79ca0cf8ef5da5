// Command blob measures atrest's Blob service next to Azurite, in one run,
// with the official Go SDK as the client for both: a 1 GiB upload and
// download (4 MiB blocks, concurrency 4), 4 KiB PUT and GET at concurrency
// 16, the server's peak RSS during the upload, and time to ready.
//
//	go run ./bench/blob              # both servers
//	go run ./bench/blob -azurite=false
//
// Azurite comes from npm (`azurite`, installed into a cache directory on
// first use) and runs with --loose --skipApiVersionCheck --disableTelemetry.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

const devKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

type result struct {
	name           string
	ready          time.Duration
	upMBs, downMBs float64
	putOps, getOps float64
	peakRSSMiB     float64
	bigBytes       int64
}

func main() {
	bigMiB := flag.Int("size-mib", 1024, "size of the large blob in MiB")
	smallN := flag.Duration("small-time", 5*time.Second, "duration of each 4 KiB phase")
	withAzurite := flag.Bool("azurite", true, "also measure Azurite")
	flag.Parse()

	big := make([]byte, *bigMiB<<20)
	for i := range big {
		big[i] = byte(i*131 + i>>13)
	}
	var results []result
	r, err := runAtrest(big, *smallN)
	check(err)
	results = append(results, r)
	if *withAzurite {
		r, err := runAzurite(big, *smallN)
		if err != nil {
			fmt.Fprintln(os.Stderr, "azurite:", err)
		} else {
			results = append(results, r)
		}
	}
	fmt.Printf("\n| server | ready | upload %d MiB | download %d MiB | 4 KiB PUT c16 | 4 KiB GET c16 | peak RSS (upload) |\n", *bigMiB, *bigMiB)
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range results {
		fmt.Printf("| %s | %.0f ms | %.0f MB/s | %.0f MB/s | %.0f /s | %.0f /s | %.0f MiB |\n",
			r.name, float64(r.ready.Microseconds())/1000, r.upMBs, r.downMBs, r.putOps, r.getOps, r.peakRSSMiB)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitHTTP polls until something answers HTTP on url.
func waitHTTP(url string, start time.Time, limit time.Duration) (time.Duration, error) {
	for time.Since(start) < limit {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return time.Since(start), nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s not ready after %s", url, limit)
}

func runAtrest(big []byte, smallFor time.Duration) (result, error) {
	bin := filepath.Join(os.TempDir(), "atrest-bench-bin")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/atrest").CombinedOutput(); err != nil {
		return result{}, fmt.Errorf("build: %v\n%s", err, out)
	}
	data, _ := os.MkdirTemp("", "atrest-bench-data-")
	defer os.RemoveAll(data)
	port := freePort()
	args := []string{"serve", "--data", data, "--blob-port", strconv.Itoa(port), "--log-level", "warn"}
	// every other service port the binary knows goes to 0 (a free one)
	help, _ := exec.Command(bin, "serve", "-h").CombinedOutput()
	for _, f := range strings.Fields(string(help)) {
		if strings.HasSuffix(f, "-port") && f != "-blob-port" && strings.HasPrefix(f, "-") {
			args = append(args, f, "0")
		}
	}
	start := time.Now()
	cmd := exec.Command(bin, args...)
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d/devstoreaccount1", port)
	ready, err := waitHTTP(url, start, 10*time.Second)
	if err != nil {
		return result{}, err
	}
	return measure("atrest", url, cmd.Process.Pid, ready, big, smallFor)
}

func runAzurite(big []byte, smallFor time.Duration) (result, error) {
	bin, err := azuriteBinary()
	if err != nil {
		return result{}, err
	}
	data, _ := os.MkdirTemp("", "azurite-bench-data-")
	defer os.RemoveAll(data)
	port := freePort()
	start := time.Now()
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port), "--location", data,
		"--loose", "--skipApiVersionCheck", "--disableTelemetry", "--silent")
	cmd.Stdout = io.Discard
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d/devstoreaccount1", port)
	ready, err := waitHTTP(url, start, 30*time.Second)
	if err != nil {
		return result{}, err
	}
	return measure("Azurite", url, cmd.Process.Pid, ready, big, smallFor)
}

// azuriteBinary finds azurite-blob, installing npm's azurite into a cache
// directory when it is missing.
func azuriteBinary() (string, error) {
	if p, err := exec.LookPath("azurite-blob"); err == nil {
		return p, nil
	}
	cache, _ := os.UserCacheDir()
	dir := filepath.Join(cache, "atrest-bench", "azurite")
	bin := filepath.Join(dir, "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	os.MkdirAll(dir, 0o755)
	fmt.Fprintln(os.Stderr, "installing azurite from npm into", dir)
	if out, err := exec.Command("npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "azurite@3").CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install azurite: %v\n%s", err, out)
	}
	return bin, nil
}

// peakRSS reads a process's high-water resident set size.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func measure(name, url string, pid int, ready time.Duration, big []byte, smallFor time.Duration) (result, error) {
	r := result{name: name, ready: ready, bigBytes: int64(len(big))}
	conn := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;BlobEndpoint=%s;", devKey, url)
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1},
		Transport: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}}}
	c, err := azblob.NewClientFromConnectionString(conn, opts)
	if err != nil {
		return r, err
	}
	ctx := context.Background()
	if _, err := c.CreateContainer(ctx, "bench", nil); err != nil {
		return r, err
	}
	bb := c.ServiceClient().NewContainerClient("bench").NewBlockBlobClient("big")

	t0 := time.Now()
	if _, err := bb.UploadBuffer(ctx, big, &blockblob.UploadBufferOptions{BlockSize: 4 << 20, Concurrency: 4}); err != nil {
		return r, fmt.Errorf("upload: %w", err)
	}
	r.upMBs = float64(len(big)) / time.Since(t0).Seconds() / 1e6
	r.peakRSSMiB = peakRSS(pid)

	got := make([]byte, len(big))
	for i := 0; i < len(got); i += 4096 {
		got[i] = 1 // fault the pages in before timing: measure the server, not the client's first touch
	}
	t0 = time.Now()
	n, err := bb.DownloadBuffer(ctx, got, &blob.DownloadBufferOptions{BlockSize: 4 << 20, Concurrency: 4})
	if err != nil || n != int64(len(big)) || !bytes.Equal(got, big) {
		return r, fmt.Errorf("download: n=%d err=%v", n, err)
	}
	r.downMBs = float64(len(big)) / time.Since(t0).Seconds() / 1e6
	got = nil

	small := make([]byte, 4096)
	cc := c.ServiceClient().NewContainerClient("bench")
	var count atomic.Int64
	run := func(fn func(i int64) error) (float64, error) {
		count.Store(0)
		var wg sync.WaitGroup
		var firstErr atomic.Value
		deadline := time.Now().Add(smallFor)
		t0 := time.Now()
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					i := count.Add(1)
					if err := fn(i); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if e := firstErr.Load(); e != nil {
			return 0, e.(error)
		}
		return float64(count.Load()) / time.Since(t0).Seconds(), nil
	}
	r.putOps, err = run(func(i int64) error {
		_, err := cc.NewBlockBlobClient(fmt.Sprintf("s/%08d", i)).UploadBuffer(ctx, small, nil)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("put: %w", err)
	}
	written := count.Load()
	buf := make([]byte, 0, 8192)
	var bufs sync.Pool
	bufs.New = func() any { b := make([]byte, 8192); return &b }
	_ = buf
	r.getOps, err = run(func(i int64) error {
		resp, err := cc.NewBlobClient(fmt.Sprintf("s/%08d", 1+i%max(written-16, 1))).DownloadStream(ctx, nil)
		if err != nil {
			return err
		}
		b := bufs.Get().(*[]byte)
		_, err = io.ReadFull(resp.Body, (*b)[:4096])
		bufs.Put(b)
		resp.Body.Close()
		return err
	})
	if err != nil {
		return r, fmt.Errorf("get: %w", err)
	}
	fmt.Fprintf(os.Stderr, "%s: done\n", name)
	return r, nil
}
