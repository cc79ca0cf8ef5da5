package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/hsm"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/server"
)

// keyFlags are serve's account key-model flags: the customer-managed key
// cache and the PKCS#11 token that holds keys on customer hardware.
type keyFlags struct {
	cmkCacheTTL, cmkFollowEvery time.Duration
	module, pinFile, token      string
}

func registerKeyFlags(fs *flag.FlagSet) *keyFlags {
	k := &keyFlags{}
	fs.DurationVar(&k.cmkCacheTTL, "cmk-cache-ttl", 5*time.Minute, "how long an unwrapped customer-managed key is used: the revocation window")
	fs.DurationVar(&k.cmkFollowEvery, "cmk-follow-every", time.Hour, "how often versionless customer-managed keys are checked for a newer version")
	fs.StringVar(&k.module, "pkcs11-module", os.Getenv("ATREST_PKCS11_MODULE"), "PKCS#11 library of the token holding pkcs11:token=... keys (env ATREST_PKCS11_MODULE)")
	fs.StringVar(&k.pinFile, "pkcs11-pin-file", os.Getenv("ATREST_PKCS11_PIN_FILE"), "file holding the token user's PIN (env ATREST_PKCS11_PIN_FILE, or the PIN itself in ATREST_PKCS11_PIN)")
	fs.StringVar(&k.token, "pkcs11-token", os.Getenv("ATREST_PKCS11_TOKEN"), "token label for key URIs that name none (env ATREST_PKCS11_TOKEN)")
	return k
}

// config is the server's KeyConfig; close unloads the PKCS#11 library
// once the server has stopped.
func (k *keyFlags) config() (kc server.KeyConfig, close func(), err error) {
	kc = server.KeyConfig{CMKCacheTTL: k.cmkCacheTTL, CMKFollowEvery: k.cmkFollowEvery}
	close = func() {}
	if k.module == "" {
		return kc, close, nil
	}
	pin, err := k.pin()
	if err != nil {
		return kc, close, err
	}
	tok, err := hsm.Open(hsm.Config{Module: k.module, PIN: pin, Token: k.token})
	if err != nil {
		return kc, close, err
	}
	kc.HSM = tok
	return kc, func() { tok.Close() }, nil
}

func (k *keyFlags) pin() (secret.Key, error) {
	if k.pinFile != "" {
		b, err := os.ReadFile(k.pinFile)
		if err != nil {
			return secret.Key{}, fmt.Errorf("PKCS#11 PIN file: %w", err)
		}
		defer clear(b)
		return secret.New([]byte(strings.TrimRight(string(b), "\r\n"))), nil
	}
	if v := os.Getenv("ATREST_PKCS11_PIN"); v != "" {
		return secret.New([]byte(v)), nil
	}
	return secret.Key{}, fmt.Errorf("--pkcs11-module needs a PIN: --pkcs11-pin-file or ATREST_PKCS11_PIN")
}
