package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/atrest/atrest/internal/edge"
	"github.com/atrest/atrest/internal/server"
)

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	var c common
	c.register(fs)
	host := fs.String("host", envOr("ATREST_HOST", "127.0.0.1"), "address to listen on")
	blobPort := fs.Int("blob-port", 10000, "Blob service port (0 picks a free one)")
	queuePort := fs.Int("queue-port", 10001, "Queue service port (0 picks a free one)")
	tablePort := fs.Int("table-port", 10002, "Table service port (0 picks a free one)")
	vf := registerVaultFlags(fs)
	kf := registerKeyFlags(fs)
	https := fs.Bool("https", false, "serve storage endpoints over HTTPS (certificate from the local CA unless --cert/--key)")
	cert := fs.String("cert", "", "PEM certificate for HTTPS")
	key := fs.String("key", "", "PEM private key for HTTPS")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: atrest serve [flags]\n\nMore accounts: AZURITE_ACCOUNTS=\"name1:key1[:key2];name2:key1\".")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if (*cert == "") != (*key == "") {
		return fmt.Errorf("--cert and --key go together")
	}
	log, err := c.logger()
	if err != nil {
		return err
	}
	root, err := c.rootKey()
	if err != nil {
		return err
	}
	accts, err := accounts()
	if err != nil {
		return err
	}
	keys, closeKeys, err := kf.config()
	if err != nil {
		return err
	}
	defer closeKeys()
	start := time.Now()
	srv, err := server.Start(server.Config{
		Host: *host, BlobPort: *blobPort, QueuePort: *queuePort, TablePort: *tablePort, DataDir: c.dataDir, Accounts: accts, RootKey: root,
		HTTPS: *https || *cert != "", CertFile: *cert, KeyFile: *key, Log: log,
		VaultPort: vf.vaultPort, IdentityPort: vf.identityPort, Vault: vf.config(), Keys: keys,
	})
	if err != nil {
		return err
	}
	fmt.Printf("atrest ready in %s\n", time.Since(start).Round(time.Millisecond))
	fmt.Printf("  data:   %s\n", c.dataDir)
	fmt.Printf("  blob:   %s/%s\n", srv.BlobURL, edge.DevAccount)
	fmt.Printf("  queue:  %s/%s\n", srv.QueueURL, edge.DevAccount)
	fmt.Printf("  table:  %s/%s\n", srv.TableURL, edge.DevAccount)
	if srv.CAFile != "" {
		fmt.Printf("  CA:     %s (trust it: REQUESTS_CA_BUNDLE / SSL_CERT_FILE)\n", srv.CAFile)
	}
	fmt.Printf("  connection string:\n    %s\n", srv.ConnectionString(edge.DevAccount, edge.DevKey))
	printVaultEndpoints(srv)
	os.Stdout.Sync()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-srv.Err():
		srv.Shutdown(context.Background())
		return err
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
