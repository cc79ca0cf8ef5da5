package hsm

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/account"
	"github.com/atrest/atrest/internal/hsm/hsmtest"
	"github.com/atrest/atrest/internal/secret"
	"github.com/atrest/atrest/internal/sse"
)

// TestTokenWrapsAndRefuses: the token seals and opens intermediate keys
// with fresh IVs, and every way the key can be out of reach (tampered
// sealed key, missing key or token, PIN in the URI, token moved away,
// wrong PIN) is KeyVaultEncryptionKeyNotFound; a token put back works.
func TestTokenWrapsAndRefuses(t *testing.T) {
	kek := bytes.Repeat([]byte{0x5a}, 32)
	tokenDir := hsmtest.SoftToken(t, "unit", "kek1", "0a01", kek)
	tok, err := Open(Config{Module: hsmtest.Module, PIN: hsmtest.PIN})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	k := account.KeyVaultKey{VaultURI: "pkcs11:token=unit", Name: "kek1"}
	ik := bytes.Repeat([]byte{7}, 32)
	w1, v, err := tok.Wrap(k, ik)
	if err != nil {
		t.Fatal(err)
	}
	w2, _, _ := tok.Wrap(k, ik)
	if v != "0a01" || bytes.Equal(w1, w2) || bytes.Contains(w1, ik) {
		t.Fatalf("version %q, wraps equal %v", v, bytes.Equal(w1, w2))
	}
	got, err := tok.Unwrap(k, v, w1)
	if err != nil || !bytes.Equal(got, ik) {
		t.Fatalf("unwrap: %v", err)
	}
	notFound := func(what string, err error) {
		t.Helper()
		var ke *sse.KeyError
		if !errors.As(err, &ke) || ke.Code != sse.CodeKeyNotFound {
			t.Fatalf("%s: %v, want KeyVaultEncryptionKeyNotFound", what, err)
		}
	}
	tampered := append([]byte(nil), w1...)
	tampered[len(tampered)-1] ^= 1
	_, err = tok.Unwrap(k, v, tampered)
	notFound("tampered", err)
	_, err = tok.Unwrap(account.KeyVaultKey{VaultURI: k.VaultURI, Name: "other"}, v, w1)
	notFound("missing key", err)
	_, err = tok.Unwrap(k, "0b02", w1)
	notFound("other key id", err)
	_, err = tok.Unwrap(account.KeyVaultKey{VaultURI: "pkcs11:token=absent", Name: "kek1"}, v, w1)
	notFound("missing token", err)
	_, err = tok.Unwrap(account.KeyVaultKey{VaultURI: "pkcs11:token=unit?pin-value=1234", Name: "kek1"}, v, w1)
	notFound("PIN in the URI", err)

	// the token's directory moved away, then back
	moved := tokenDir + ".away"
	if err := os.Rename(tokenDir, moved); err != nil {
		t.Fatal(err)
	}
	_, err = tok.Unwrap(k, v, w1)
	notFound("token removed", err)
	if err := os.Rename(moved, tokenDir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(rescanEvery)
	if got, err := tok.Unwrap(k, v, w1); err != nil || !bytes.Equal(got, ik) {
		t.Fatalf("token restored: %v", err)
	}

	// one library per process: a wrong PIN is tried after closing
	tok.Close()
	wrongPIN, err := Open(Config{Module: hsmtest.Module, PIN: secret.New([]byte("9999"))})
	if err != nil {
		t.Fatal(err)
	}
	defer wrongPIN.Close()
	_, err = wrongPIN.Unwrap(k, v, w1)
	notFound("wrong PIN", err)
}
