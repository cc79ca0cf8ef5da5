package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/schollz/progressbar/v3"

	"github.com/atrest/atrest/cse"
	"github.com/atrest/atrest/cse/cseblob"
	"github.com/atrest/atrest/cse/csekv"
	"github.com/atrest/atrest/internal/csetransfer"
)

const cseUsage = `usage: atrest cse upload   [flags] FILE   encrypt FILE into a block blob
       atrest cse download [flags] FILE   decrypt a blob into FILE

Client-side encryption in the Azure Storage SDKs' format (protocol 2.0 by
default): the service only ever sees ciphertext. Interrupted transfers resume
when run again with the same arguments. The key-encryption key comes from
--kek-file (a JSON Web Key, or a PEM RSA key with --kek-id) or from a Key
Vault key (--kek-vault-key, credentials from AZURE_TENANT_ID, AZURE_CLIENT_ID,
AZURE_CLIENT_SECRET and AZURE_AUTHORITY_HOST).

Run "atrest cse upload -h" for the flags.
`

func cseCommand(args []string) error {
	if len(args) < 1 {
		fmt.Fprint(os.Stderr, cseUsage)
		os.Exit(2)
	}
	switch args[0] {
	case "upload":
		return cseUpload(args[1:])
	case "download":
		return cseDownload(args[1:])
	case "-h", "--help", "help":
		fmt.Print(cseUsage)
		return nil
	}
	return fmt.Errorf("cse: unknown command %q\n\n%s", args[0], cseUsage)
}

// cseFlags are the flags both directions share.
type cseFlags struct {
	conn, container, name      string
	kekFile, kekID, vaultKey   string
	vaultCA                    string
	vaultSkipResourceCheck     bool
	protocol                   string
	regionSize, blockSize      int64
	concurrency                int
	state                      string
	noProgress, allowPlaintext bool
}

func (f *cseFlags) register(fs *flag.FlagSet, upload bool) {
	// The environment is read after parsing so that -h never prints the key.
	fs.StringVar(&f.conn, "connection-string", "", "storage connection string (default $AZURE_STORAGE_CONNECTION_STRING)")
	fs.StringVar(&f.container, "container", "", "container name (required)")
	fs.StringVar(&f.name, "name", "", "blob name (default: the file's base name)")
	fs.StringVar(&f.kekFile, "kek-file", "", "key-encryption key: a JWK (oct or RSA) or a PEM RSA key")
	fs.StringVar(&f.kekID, "kek-id", "", "key id recorded for a PEM key (a JWK names its own kid)")
	fs.StringVar(&f.vaultKey, "kek-vault-key", "", "key-encryption key in Key Vault: https://{vault}/keys/{name}[/{version}]")
	fs.StringVar(&f.vaultCA, "vault-ca", "", "PEM CA certificate to trust for the vault and token issuer (e.g. from \"atrest ca\")")
	fs.BoolVar(&f.vaultSkipResourceCheck, "vault-skip-resource-check", false, "accept a vault challenge whose resource is not a parent domain of the vault (local vaults on an IP or bare localhost)")
	fs.BoolVar(&f.noProgress, "no-progress", false, "do not draw a progress bar")
	fs.IntVar(&f.concurrency, "concurrency", 4, "blocks in flight")
	if upload {
		fs.StringVar(&f.protocol, "protocol", "2.0", "protocol to write: 2.0, 2.1 (with --region-size) or 1.0 (legacy, no integrity, not resumable)")
		fs.Int64Var(&f.regionSize, "region-size", 0, "plaintext bytes per region for protocol 2.1 (16 B to 1 GiB)")
		fs.Int64Var(&f.blockSize, "block-size", csetransfer.DefaultUploadBlock, "plaintext bytes per staged block (rounded up to whole regions)")
		fs.StringVar(&f.state, "state", "", "resume state file (default FILE.atrest-upload.json)")
	} else {
		fs.BoolVar(&f.allowPlaintext, "allow-plaintext", false, "write blobs without encryption metadata as they are instead of refusing them")
	}
}

func (f *cseFlags) parse(fs *flag.FlagSet, args []string) (string, error) {
	fs.Parse(args)
	if fs.NArg() != 1 {
		return "", errors.New("cse: exactly one FILE argument is needed")
	}
	file := fs.Arg(0)
	if f.conn == "" {
		f.conn = os.Getenv("AZURE_STORAGE_CONNECTION_STRING")
	}
	if f.name == "" {
		f.name = filepath.Base(file)
	}
	if f.container == "" || f.conn == "" {
		return "", errors.New("cse: --container and a connection string are required")
	}
	if (f.kekFile == "") == (f.vaultKey == "") {
		return "", errors.New("cse: give one of --kek-file and --kek-vault-key")
	}
	return file, nil
}

// client builds the encrypting blob client from the flags.
func (f *cseFlags) client(ctx context.Context, upload bool) (*cseblob.Client, error) {
	kek, err := f.kek(ctx)
	if err != nil {
		return nil, err
	}
	o := cseblob.Options{KEK: kek, RequireEncryption: !f.allowPlaintext}
	if upload {
		switch f.protocol {
		case "2.0":
			if f.regionSize != 0 && f.regionSize != cse.DefaultRegionSize {
				return nil, errors.New("cse: --region-size needs --protocol 2.1")
			}
		case "2.1":
			if f.regionSize == 0 {
				return nil, errors.New("cse: --protocol 2.1 needs --region-size")
			}
			o.RegionSize = f.regionSize
		case "1.0":
			o.LegacyProtocol1 = true
		default:
			return nil, fmt.Errorf("cse: unknown protocol %q", f.protocol)
		}
	}
	az, err := azblob.NewClientFromConnectionString(f.conn, nil)
	if err != nil {
		return nil, err
	}
	return cseblob.NewClient(az, o)
}

func (f *cseFlags) kek(ctx context.Context) (cse.KeyEncryptionKey, error) {
	if f.kekFile != "" {
		b, err := os.ReadFile(f.kekFile)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(strings.TrimSpace(string(b)), "-----BEGIN") {
			if f.kekID == "" {
				return nil, errors.New("cse: a PEM key needs --kek-id")
			}
			return cse.ParseRSAKEK(f.kekID, b, "")
		}
		return cse.ParseJWK(b)
	}
	vault, name, version, ok := csekv.ParseKeyID(f.vaultKey)
	if !ok {
		return nil, fmt.Errorf("cse: %q is not a Key Vault key URL", f.vaultKey)
	}
	hc, err := vaultHTTPClient(f.vaultCA)
	if err != nil {
		return nil, err
	}
	copts := azcore.ClientOptions{Transport: hc}
	cred, err := azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: true})
	if err != nil {
		return nil, fmt.Errorf("cse: Key Vault credentials: %w", err)
	}
	kc, err := azkeys.NewClient(vault, cred, &azkeys.ClientOptions{ClientOptions: copts, DisableChallengeResourceVerification: f.vaultSkipResourceCheck})
	if err != nil {
		return nil, err
	}
	return csekv.New(ctx, kc, name, version, nil)
}

// vaultHTTPClient trusts caFile besides the system roots, and dials names
// under .localhost on the loopback address, as RFC 6761 reserves them.
func vaultHTTPClient(caFile string) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cse: no certificate in %s", caFile)
		}
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	tr := &http.Transport{
		Proxy:           http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, port, err := net.SplitHostPort(addr); err == nil && strings.HasSuffix(strings.ToLower(host), ".localhost") {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: tr}, nil
}

// progress draws a byte progress bar on stderr, or nothing.
func progress(off bool, what string) (func(done, total int64), func()) {
	if off {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	return func(done, total int64) {
			if bar == nil {
				bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription(what),
					progressbar.OptionShowBytes(true), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionShowCount(),
					progressbar.OptionSetPredictTime(true), progressbar.OptionFullWidth())
			}
			_ = bar.Set64(done)
		}, func() {
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintln(os.Stderr)
			}
		}
}

// interruptible cancels on SIGINT/SIGTERM, leaving the resume state.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func cseUpload(args []string) error {
	fs := flag.NewFlagSet("cse upload", flag.ExitOnError)
	var f cseFlags
	f.register(fs, true)
	file, err := f.parse(fs, args)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	c, err := f.client(ctx, true)
	if err != nil {
		return err
	}
	if f.state == "" {
		f.state = file + ".atrest-upload.json"
	}
	report, finish := progress(f.noProgress, "encrypting "+f.name)
	res, err := csetransfer.Upload(ctx, c, f.container, f.name, file, csetransfer.UploadOptions{
		StatePath: f.state, BlockSize: f.blockSize, Concurrency: f.concurrency, Progress: report})
	finish()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted; run the same command again to resume (%w)", err)
		}
		return err
	}
	resumed := ""
	if res.Resumed {
		resumed = fmt.Sprintf(", resumed: %d of %d blocks sent now", res.Staged, res.Blocks)
	}
	fmt.Printf("uploaded %s to %s/%s: %d bytes encrypted%s\n", file, f.container, f.name, res.Size, resumed)
	return nil
}

func cseDownload(args []string) error {
	fs := flag.NewFlagSet("cse download", flag.ExitOnError)
	var f cseFlags
	f.register(fs, false)
	file, err := f.parse(fs, args)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	c, err := f.client(ctx, false)
	if err != nil {
		return err
	}
	report, finish := progress(f.noProgress, "decrypting "+f.name)
	res, err := csetransfer.Download(ctx, c, f.container, f.name, file, csetransfer.DownloadOptions{Progress: report})
	finish()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted; run the same command again to resume (%w)", err)
		}
		return err
	}
	resumed := ""
	if res.Resumed > 0 {
		resumed = fmt.Sprintf(", resumed after %d bytes", res.Resumed)
	}
	fmt.Printf("downloaded %s/%s to %s: %d bytes decrypted%s\n", f.container, f.name, file, res.Size, resumed)
	return nil
}
