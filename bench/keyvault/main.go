// Command keyvault measures the Key Vault's wrapKey/unwrapKey throughput
// with the official Go client (azkeys + azidentity over HTTPS) at a given
// concurrency, next to the raw cost of the same cryptography measured in
// the same run, and prints a Markdown table.
//
//	go run ./bench/keyvault                     # RSA-2048 RSA-OAEP-256 and A256KW, 16 clients, 5 s each
//	go run ./bench/keyvault -c 16 -d 10s
//
// The server runs in-process on ephemeral ports with a fresh data directory;
// client and server share the machine's cores. Every request is
// authenticated (RS256 JWT), authorized (role assignment), audited (one
// sealed audit record) and served from the in-memory key cache.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/atrest/atrest/internal/admin"
	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/keywrap"
	"github.com/atrest/atrest/internal/server"
)

func main() {
	conc := flag.Int("c", 16, "concurrent clients")
	dur := flag.Duration("d", 5*time.Second, "duration of each measurement")
	raw := flag.Bool("raw", true, "also measure the raw cryptography (off to profile the service alone)")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the whole run (client and server) to this file")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*conc, *dur, *raw); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type scenario struct {
	name, key string
	alg       azkeys.EncryptionAlgorithm
	unwrap    bool
	raw       func() // one operation of the same cryptography, outside the server
}

func run(conc int, dur time.Duration, withRaw bool) error {
	dir, err := os.MkdirTemp("", "atrest-kvbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	accts, _ := edge.ParseAccounts("")
	srv, err := server.Start(server.Config{Host: "127.0.0.1", DataDir: dir, Accounts: accts,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer srv.Shutdown(context.Background())
	a := srv.Admin()
	do := func(cmd string, args any, out any) error {
		b, _ := json.Marshal(args)
		res, err := a.Do(context.Background(), cmd, b)
		if err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
		if out != nil {
			rb, _ := json.Marshal(res)
			return json.Unmarshal(rb, out)
		}
		return nil
	}
	if err := do("vault.create", map[string]any{"name": "bench"}, nil); err != nil {
		return err
	}
	var cr admin.Credentials
	if err := do("principal.create", map[string]any{"name": "bench"}, &cr); err != nil {
		return err
	}
	if err := do("role.assign", map[string]any{"principal": "bench", "role": "Key Vault Crypto Service Encryption User", "scope": "/vaults/bench"}, nil); err != nil {
		return err
	}
	for name, body := range map[string]string{"rsa": `{"kty":"RSA","key_size":2048}`, "aes": `{"kty":"oct-HSM","key_size":256}`} {
		if err := do("key.op", admin.KeyOpArgs{Operation: "CreateKey", Vault: "bench", Name: name, Body: json.RawMessage(body)}, nil); err != nil {
			return err
		}
	}

	hc, err := transport(srv.CAFile, conc)
	if err != nil {
		return err
	}
	cred, err := azidentity.NewClientSecretCredential(cr.TenantID, cr.ClientID, cr.Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.IdentityURL + "/"}, Transport: hc},
		DisableInstanceDiscovery: true})
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.VaultURL, "https://"))
	kc, err := azkeys.NewClient("https://bench.localhost:"+port, cred, &azkeys.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		return err
	}

	// Raw material for the same operations, outside the server.
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	aesKey := make([]byte, 32)
	rand.Read(aesKey)
	cek := make([]byte, 32)
	rand.Read(cek)
	rsaCT, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, &rsaKey.PublicKey, cek, nil)
	aesCT, _ := keywrap.Wrap(aesKey, cek)

	ctx := context.Background()
	oaep := azkeys.EncryptionAlgorithmRSAOAEP256
	scenarios := []scenario{
		{"wrapKey RSA-2048 RSA-OAEP-256", "rsa", oaep, false, func() { rsa.EncryptOAEP(sha256.New(), rand.Reader, &rsaKey.PublicKey, cek, nil) }},
		{"unwrapKey RSA-2048 RSA-OAEP-256", "rsa", oaep, true, func() { rsa.DecryptOAEP(sha256.New(), nil, rsaKey, rsaCT, nil) }},
		{"wrapKey A256KW", "aes", azkeys.EncryptionAlgorithmA256KW, false, func() { keywrap.Wrap(aesKey, cek) }},
		{"unwrapKey A256KW", "aes", azkeys.EncryptionAlgorithmA256KW, true, func() { keywrap.Unwrap(aesKey, aesCT) }},
	}
	fmt.Printf("Key Vault throughput: %d clients, %s per row, GOMAXPROCS=%d, %s\n\n", conc, dur, runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Println("| operation | vault req/s | p50 | p99 | raw crypto, 1 core | raw crypto, all cores |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	for _, s := range scenarios {
		wrapped, err := kc.WrapKey(ctx, s.key, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(s.alg), Value: cek}, nil)
		if err != nil {
			return err
		}
		params := azkeys.KeyOperationParameters{Algorithm: to.Ptr(s.alg), Value: cek}
		if s.unwrap {
			params.Value = wrapped.Result
		}
		rps, p50, p99, err := load(conc, dur, func() error {
			var err error
			if s.unwrap {
				_, err = kc.UnwrapKey(ctx, s.key, "", params, nil)
			} else {
				_, err = kc.WrapKey(ctx, s.key, "", params, nil)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if !withRaw {
			fmt.Printf("| %s | %.0f | %s | %s | | |\n", s.name, rps, p50.Round(time.Microsecond), p99.Round(time.Microsecond))
			continue
		}
		one := testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
				s.raw()
			}
		})
		all := testing.Benchmark(func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s.raw()
				}
			})
		})
		perOp := time.Duration(one.NsPerOp())
		fmt.Printf("| %s | %.0f | %s | %s | %s (%.0f /s) | %.0f /s |\n", s.name, rps, p50.Round(time.Microsecond), p99.Round(time.Microsecond),
			perOp.Round(100*time.Nanosecond), float64(time.Second)/float64(perOp), float64(time.Second)/float64(all.NsPerOp()))
	}
	return nil
}

// load runs op from conc goroutines for dur and reports throughput and
// latency percentiles.
func load(conc int, dur time.Duration, op func() error) (float64, time.Duration, time.Duration, error) {
	var n atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, conc)
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := op(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, 0, 0, err
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	rps := float64(n.Load()) / time.Since(start).Seconds()
	return rps, all[len(all)/2], all[len(all)*99/100], nil
}

// transport trusts the server's CA and sends {vault}.localhost to the
// loopback address.
func transport(caFile string, conc int) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		MaxIdleConnsPerHost: conc,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, port, err := net.SplitHostPort(addr); err == nil && strings.HasSuffix(host, ".localhost") {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return d.DialContext(ctx, network, addr)
		},
	}}, nil
}
