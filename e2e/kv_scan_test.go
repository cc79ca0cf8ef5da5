package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// encodings are the forms a careless store might keep bytes in.
func encodings(b []byte) [][]byte {
	return [][]byte{b,
		[]byte(base64.StdEncoding.EncodeToString(b)), []byte(base64.RawStdEncoding.EncodeToString(b)),
		[]byte(base64.URLEncoding.EncodeToString(b)), []byte(base64.RawURLEncoding.EncodeToString(b)),
		[]byte(hex.EncodeToString(b)), []byte(strings.ToUpper(hex.EncodeToString(b)))}
}

// scanForBytes reports which needles appear, in any encoding, in any file under dir.
func scanForBytes(t testing.TB, dir string, needles map[string][]byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSocket != 0 {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for name, n := range needles {
			for _, form := range encodings(n) {
				if bytes.Contains(b, form) {
					hits = append(hits, name+" in "+path)
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestKVDataDirHoldsNoSecrets imports keys whose private parts the test
// knows, creates principals whose secrets it knows, uses everything, stops
// the server and reads every file in the data directory: no private key
// (PKCS#1, PKCS#8, JWK d/p/q/dp/dq/qi, EC d), no AES key and no secret may
// appear in any encoding.
func TestKVDataDirHoldsNoSecrets(t *testing.T) {
	ts := startServer(t)
	hc := kvTransport(t, ts.CAFile)
	adminDo(t, ts, "vault.create", map[string]any{"name": "scan"}, nil)
	cr := newPrincipal(t, ts, "scanner", "Key Vault Crypto Officer", "/vaults/scan")
	var mi map[string]any
	adminDo(t, ts, "principal.create", map[string]any{"name": "scan-mi", "managed": true}, &mi)
	kc := goKeyClient(t, vaultURL(ts, "scan"), goCredential(t, ts, cr, hc), hc)
	c := ctx(t)

	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	priv.Precompute()
	get(kc.ImportKey(c, "scan-rsa", azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeRSA),
		N: priv.N.Bytes(), E: big.NewInt(65537).Bytes(), D: priv.D.Bytes(), P: priv.Primes[0].Bytes(), Q: priv.Primes[1].Bytes(),
		DP: priv.Precomputed.Dp.Bytes(), DQ: priv.Precomputed.Dq.Bytes(), QI: priv.Precomputed.Qinv.Bytes()}}, nil))(t)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	get(kc.ImportKey(c, "scan-ec", azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeEC),
		Crv: to.Ptr(azkeys.CurveNameP384), D: ecPriv.D.FillBytes(make([]byte, 48)), X: ecPriv.X.FillBytes(make([]byte, 48)), Y: ecPriv.Y.FillBytes(make([]byte, 48))}}, nil))(t)
	aesKey := make([]byte, 32)
	rand.Read(aesKey)
	get(kc.ImportKey(c, "scan-oct", azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeOct), K: aesKey}}, nil))(t)
	cek := []byte("content key that must stay hidden")[:32]
	w := get(kc.WrapKey(c, "scan-oct", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256KW), Value: cek}, nil))(t)
	get(kc.UnwrapKey(c, "scan-oct", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256KW), Value: w.Result}, nil))(t)
	get(kc.RotateKey(c, "scan-rsa", nil))(t)
	get(kc.BackupKey(c, "scan-rsa", nil))(t)
	get(kc.DeleteKey(c, "scan-ec", nil))(t)
	for _, name := range []string{"scan-rsa", "scan-oct"} {
		get(kc.UpdateKey(c, name, "", azkeys.UpdateKeyParameters{Tags: map[string]*string{"t": to.Ptr("v")}}, nil))(t)
	}
	ts.stop()

	pkcs1 := x509.MarshalPKCS1PrivateKey(priv)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(priv)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ecPriv)
	ecSEC1, _ := x509.MarshalECPrivateKey(ecPriv)
	needles := map[string][]byte{
		"RSA PKCS#1": pkcs1, "RSA PKCS#8": pkcs8, "JWK d": priv.D.Bytes(), "JWK p": priv.Primes[0].Bytes(), "JWK q": priv.Primes[1].Bytes(),
		"JWK dp": priv.Precomputed.Dp.Bytes(), "JWK dq": priv.Precomputed.Dq.Bytes(), "JWK qi": priv.Precomputed.Qinv.Bytes(),
		"EC PKCS#8": ecPKCS8, "EC SEC1": ecSEC1, "EC d": ecPriv.D.FillBytes(make([]byte, 48)),
		"oct key": aesKey, "wrapped CEK": cek,
		"client secret": []byte(cr.Secret), "managed identity secret": []byte(mi["secret"].(string)),
	}
	if hits := scanForBytes(t, ts.dir, needles); len(hits) > 0 {
		t.Fatalf("secrets readable in the data directory:\n%s", strings.Join(hits, "\n"))
	}
	// The PEM markers of any private key, too.
	if hits := scanForPlaintext(t, ts.dir, []string{"PRIVATE KEY-----"}); len(hits) > 0 {
		t.Fatalf("PEM private key on disk: %v", hits)
	}
	// And the key names, which are not secret, are there: the scan can see.
	if hits := scanForPlaintext(t, ts.dir, []string{"scan-rsa"}); len(hits) == 0 {
		t.Fatal("the scan found not even the key names; it is not reading the store")
	}
}
