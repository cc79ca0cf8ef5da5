package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/atrest/atrest/internal/account"
	"sort"

	"github.com/atrest/atrest/internal/server"
)

func verify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	var c common
	c.register(fs)
	kf := registerKeyFlags(fs)
	fs.Parse(args)
	st, _, closeFn, err := openInstallation(&c, kf)
	if err != nil {
		return err
	}
	defer closeFn()
	rep, err := st.DB.Verify()
	if err != nil {
		return err
	}
	fmt.Printf("records authenticated: %d\n", rep.Records)
	fmt.Printf("extents authenticated: %d (%d bytes of content)\n", rep.Extents, rep.Bytes)
	fmt.Println("objects by key:")
	keys := make([]string, 0, len(rep.ByKey))
	for k := range rep.ByKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %-50s %d\n", k, rep.ByKey[k])
	}
	for _, o := range rep.Orphans {
		fmt.Printf("orphan extent (no record; removed at next start): %s\n", o)
	}
	for _, f := range rep.Unreadable {
		fmt.Printf("UNRECOVERABLE (key purged or lost): %s\n", f)
	}
	for _, f := range rep.Unavailable {
		fmt.Printf("UNAVAILABLE (key disabled, deleted or out of reach; restoring it restores the object): %s\n", f)
	}
	for _, f := range rep.Failed {
		fmt.Printf("FAILED AUTHENTICATION: %s\n", f)
	}
	if !rep.OK() {
		return errors.New("verify: some objects did not authenticate")
	}
	fmt.Println("OK: every stored object is authenticated ciphertext")
	return nil
}

func printCA(args []string) error {
	fs := flag.NewFlagSet("ca", flag.ExitOnError)
	var c common
	c.register(fs)
	fs.Parse(args)
	log, err := c.logger()
	if err != nil {
		return err
	}
	root, err := c.rootKey()
	if err != nil {
		return err
	}
	st, err := server.OpenStores(c.dataDir, root, 0, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, _, err := server.LoadOrCreateCA(c.dataDir, st); err != nil {
		return err
	}
	return printFile(server.CACertPath(c.dataDir))
}

// openInstallation opens a stopped installation with every key source wired
// (customer-managed keys, PKCS#11, the infrastructure layer) and the
// configured accounts, as the server would.
func openInstallation(c *common, kf *keyFlags) (*server.Stores, *account.Registry, func() error, error) {
	log, err := c.logger()
	if err != nil {
		return nil, nil, nil, err
	}
	root, err := c.rootKey()
	if err != nil {
		return nil, nil, nil, err
	}
	kc, closeKeys, err := kf.config()
	if err != nil {
		return nil, nil, nil, err
	}
	accts, err := accounts()
	if err != nil {
		closeKeys()
		return nil, nil, nil, err
	}
	st, reg, closeFn, err := server.OpenInstallation(c.dataDir, root, kc, accts, log)
	if err != nil {
		closeKeys()
		return nil, nil, nil, err
	}
	return st, reg, func() error { err := closeFn(); closeKeys(); return err }, nil
}
