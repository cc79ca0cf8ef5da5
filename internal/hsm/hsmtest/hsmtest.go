// Package hsmtest makes throwaway SoftHSM tokens for tests of keys on
// PKCS#11 hardware: a fresh token directory of its own (never inside an
// atrest data directory), a SOFTHSM2_CONF pointing at it, and one AES key
// of known value imported under a label.
//
//	dir := hsmtest.SoftToken(t, "atrest", "kek1", "0a01", key)
//	tok, _ := hsm.Open(hsm.Config{Module: hsmtest.Module, PIN: hsmtest.PIN})
package hsmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/atrest/atrest/internal/secret"
)

// Module is Debian's SoftHSM library.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// PIN is the user PIN of the tokens made here.
var PIN = secret.New([]byte("1234"))

// SoftToken initializes a token labelled label holding key under keyLabel
// (CKA_ID id, hex) and returns its token directory. It skips the test when
// SoftHSM is absent, unless ATREST_REQUIRE_CLIENTS=1. The test's
// environment points SOFTHSM2_CONF at the token, so no test using it may
// run in parallel.
func SoftToken(t testing.TB, label, keyLabel, id string, key []byte) string {
	t.Helper()
	if _, err := os.Stat(Module); err != nil {
		if os.Getenv("ATREST_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("softhsm2 is required (ATREST_REQUIRE_CLIENTS=1): %v", err)
		}
		t.Skip("softhsm2 is not installed")
	}
	dir := t.TempDir()
	tokenDir := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokenDir, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokenDir+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	pin := string(PIN.Bytes())
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("softhsm2-util", args...).CombinedOutput(); err != nil {
			t.Fatalf("softhsm2-util %v: %v\n%s", args[0], err, out)
		}
	}
	run("--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "5678")
	kf := filepath.Join(dir, "key.bin")
	if err := os.WriteFile(kf, key, 0o600); err != nil {
		t.Fatal(err)
	}
	run("--import", kf, "--aes", "--token", label, "--label", keyLabel, "--id", id, "--pin", pin)
	if err := os.Remove(kf); err != nil {
		t.Fatal(err)
	}
	return tokenDir
}
