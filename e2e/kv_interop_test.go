package e2e

import (
	"bytes"
	"crypto/aes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"math/big"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// oaepDecryptByHand undoes RSAES-OAEP (RFC 8017 §7.1.2) with nothing but
// modular exponentiation and the hash, to show the vault's ciphertext is
// plain textbook RSA-OAEP.
func oaepDecryptByHand(t testing.TB, priv *rsa.PrivateKey, hashNew func() hash.Hash, ct []byte) []byte {
	t.Helper()
	k := priv.Size()
	m := new(big.Int).Exp(new(big.Int).SetBytes(ct), priv.D, priv.N)
	em := m.FillBytes(make([]byte, k))
	h := hashNew()
	hLen := h.Size()
	mgf := func(seed []byte, n int) []byte {
		var out []byte
		for c := uint32(0); len(out) < n; c++ {
			hh := hashNew()
			hh.Write(seed)
			var cb [4]byte
			binary.BigEndian.PutUint32(cb[:], c)
			hh.Write(cb[:])
			out = hh.Sum(out)
		}
		return out[:n]
	}
	if em[0] != 0 {
		t.Fatal("OAEP: leading byte is not zero")
	}
	maskedSeed, maskedDB := em[1:1+hLen], em[1+hLen:]
	seed := make([]byte, hLen)
	for i, b := range mgf(maskedDB, hLen) {
		seed[i] = maskedSeed[i] ^ b
	}
	db := make([]byte, len(maskedDB))
	for i, b := range mgf(seed, len(maskedDB)) {
		db[i] = maskedDB[i] ^ b
	}
	lHash := hashNew().Sum(nil)
	if !bytes.Equal(db[:hLen], lHash) {
		t.Fatal("OAEP: label hash mismatch")
	}
	i := hLen
	for i < len(db) && db[i] == 0 {
		i++
	}
	if i == len(db) || db[i] != 1 {
		t.Fatal("OAEP: no 0x01 separator")
	}
	return db[i+1:]
}

// TestKVGoInterop: keys imported by the official client interoperate with
// standard cryptography (RSA-OAEP by hand, RFC 3394 vectors for A*KW,
// PKCS#8 + RFC 5649 for a BYOK transfer blob), and a managed identity
// reaches the vault through azidentity.
func TestKVGoInterop(t *testing.T) {
	ts := startServer(t)
	hc := kvTransport(t, ts.CAFile)
	adminDo(t, ts, "vault.create", map[string]any{"name": "kv1"}, nil)
	officer := newPrincipal(t, ts, "officer", "Key Vault Crypto Officer", "/vaults/kv1")
	kc := goKeyClient(t, vaultURL(ts, "kv1"), goCredential(t, ts, officer, hc), hc)
	c := ctx(t)

	t.Run("RSA-OAEP by hand", func(t *testing.T) {
		priv, _ := rsa.GenerateKey(rand.Reader, 2048)
		priv.Precompute()
		jwk := &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeRSA), N: priv.N.Bytes(), E: big.NewInt(int64(priv.E)).Bytes(),
			D: priv.D.Bytes(), P: priv.Primes[0].Bytes(), Q: priv.Primes[1].Bytes(),
			DP: priv.Precomputed.Dp.Bytes(), DQ: priv.Precomputed.Dq.Bytes(), QI: priv.Precomputed.Qinv.Bytes()}
		imp := get(kc.ImportKey(c, "imported", azkeys.ImportKeyParameters{Key: jwk}, nil))(t)
		if imp.Key.D != nil || !bytes.Equal(imp.Key.N, priv.N.Bytes()) {
			t.Fatal("import response must carry the public key only")
		}
		cek := make([]byte, 32)
		rand.Read(cek)
		for alg, h := range map[azkeys.EncryptionAlgorithm]func() hash.Hash{
			azkeys.EncryptionAlgorithmRSAOAEP: sha1.New, azkeys.EncryptionAlgorithmRSAOAEP256: sha256.New,
		} {
			w := get(kc.WrapKey(c, "imported", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: cek}, nil))(t)
			if got := oaepDecryptByHand(t, priv, h, w.Result); !bytes.Equal(got, cek) {
				t.Fatalf("%s: vault wrap does not unwrap by hand", alg)
			}
		}
		// And the other way: wrapped locally, unwrapped by the vault.
		local, _ := rsa.EncryptOAEP(sha1.New(), rand.Reader, &priv.PublicKey, cek, nil)
		u := get(kc.UnwrapKey(c, "imported", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: local}, nil))(t)
		if !bytes.Equal(u.Result, cek) {
			t.Fatal("local wrap does not unwrap in the vault")
		}
		bad := *jwk
		bad.D = append([]byte{1}, jwk.D...)
		_, err := kc.ImportKey(c, "bad", azkeys.ImportKeyParameters{Key: &bad}, nil)
		kvWantCode(t, err, http.StatusBadRequest, "BadParameter")
	})

	t.Run("A*KW RFC 3394 vectors", func(t *testing.T) {
		vectors := []struct{ kek, data, wrapped string }{
			{"000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF", "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},                                                                                                 // §4.1
			{"000102030405060708090A0B0C0D0E0F1011121314151617", "00112233445566778899AABBCCDDEEFF", "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"},                                                                                 // §4.2
			{"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF", "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},                                                                 // §4.3
			{"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF0001020304050607", "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"},                                 // §4.5
			{"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F", "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"}, // §4.6
		}
		for i, v := range vectors {
			kek := unhex(v.kek)
			name := "kw-" + string(rune('a'+i))
			get(kc.ImportKey(c, name, azkeys.ImportKeyParameters{HSM: to.Ptr(true), Key: &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeOct), K: kek}}, nil))(t)
			alg := azkeys.EncryptionAlgorithm(map[int]string{16: "A128KW", 24: "A192KW", 32: "A256KW"}[len(kek)])
			w := get(kc.WrapKey(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: unhex(v.data)}, nil))(t)
			if !bytes.Equal(w.Result, unhex(v.wrapped)) {
				t.Fatalf("RFC 3394 vector %d (%s): got %X", i, alg, w.Result)
			}
			u := get(kc.UnwrapKey(c, name, "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: unhex(v.wrapped)}, nil))(t)
			if !bytes.Equal(u.Result, unhex(v.data)) {
				t.Fatalf("RFC 3394 vector %d: unwrap", i)
			}
		}
		k := get(kc.GetKey(c, "kw-c", "", nil))(t)
		if *k.Key.Kty != azkeys.KeyTypeOctHSM || k.Key.K != nil {
			t.Fatalf("imported oct key: kty %s, material returned: %v", *k.Key.Kty, k.Key.K != nil)
		}
	})

	t.Run("BYOK", func(t *testing.T) {
		kek := get(kc.CreateKey(c, "byok-kek", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSAHSM), KeySize: to.Ptr(int32(2048)),
			KeyOps: []*azkeys.KeyOperation{to.Ptr(azkeys.KeyOperationImport)}}, nil))(t)
		target, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pkcs8, _ := x509.MarshalPKCS8PrivateKey(target)
		blob := transferBlob(t, rsaPublic(t, kek.Key), string(*kek.Key.KID), pkcs8)
		imp := get(kc.ImportKey(c, "byok-target", azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeECHSM), T: blob}}, nil))(t)
		if !bytes.Equal(imp.Key.X, target.X.FillBytes(make([]byte, 32))) {
			t.Fatal("the imported key is not the target key")
		}
		d := sha256.Sum256([]byte("signed after BYOK"))
		s := get(kc.Sign(c, "byok-target", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Value: d[:]}, nil))(t)
		if !ecdsa.Verify(&target.PublicKey, d[:], new(big.Int).SetBytes(s.Result[:32]), new(big.Int).SetBytes(s.Result[32:])) {
			t.Fatal("signature by the imported key does not verify with the original")
		}
		// The key exchange key does nothing but import.
		_, err := kc.WrapKey(c, "byok-kek", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: make([]byte, 32)}, nil)
		kvWantCode(t, err, http.StatusForbidden, "Forbidden")
		// A blob for another KEK is refused.
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		_, err = kc.ImportKey(c, "byok-bad", azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeECHSM),
			T: transferBlob(t, &other.PublicKey, string(*kek.Key.KID), pkcs8)}}, nil)
		kvWantCode(t, err, http.StatusBadRequest, "BadParameter")
	})

	t.Run("managed identity", func(t *testing.T) {
		var mi struct {
			ClientID         string `json:"clientId"`
			Secret           string `json:"secret"`
			IdentityEndpoint string `json:"identityEndpoint"`
		}
		adminDo(t, ts, "principal.create", map[string]any{"name": "app-mi", "managed": true}, &mi)
		adminDo(t, ts, "role.assign", map[string]any{"principal": "app-mi", "role": "Key Vault Crypto Service Encryption User", "scope": "/vaults/kv1/keys/imported"}, nil)
		t.Setenv("IDENTITY_ENDPOINT", ts.IdentityURL+"/msi/token")
		t.Setenv("IDENTITY_HEADER", mi.Secret)
		cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: hc}})
		if err != nil {
			t.Fatal(err)
		}
		mc := goKeyClient(t, vaultURL(ts, "kv1"), cred, hc)
		w := get(mc.WrapKey(c, "imported", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: []byte("0123456789abcdef")}, nil))(t)
		get(mc.UnwrapKey(c, "imported", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: w.Result}, nil))(t)
		_, err = mc.WrapKey(c, "kw-a", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA128KW), Value: make([]byte, 16)}, nil)
		kvWantCode(t, err, http.StatusForbidden, "Forbidden") // assigned at another key's scope
	})
}

// transferBlob builds a BYOK key transfer blob the way the HSM vendors'
// tools do: RSA-OAEP(SHA-1) of an ephemeral AES-256 key, then AES-KWP
// (RFC 5649, written out here independently of the server) of the target.
func transferBlob(t testing.TB, kek *rsa.PublicKey, kid string, target []byte) []byte {
	t.Helper()
	aesKey := make([]byte, 32)
	rand.Read(aesKey)
	encKey, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, kek, aesKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	// RFC 5649 §4.1: AIV = A65959A6 || 32-bit length; pad to 8; W with AIV.
	padded := append(append([]byte(nil), target...), make([]byte, (8-len(target)%8)%8)...)
	n := len(padded) / 8
	b, _ := aes.NewCipher(aesKey)
	a := append([]byte{0xA6, 0x59, 0x59, 0xA6}, binary.BigEndian.AppendUint32(nil, uint32(len(target)))...)
	r := append([]byte(nil), padded...)
	buf := make([]byte, 16)
	for j := 0; j < 6; j++ {
		for i := 0; i < n; i++ {
			copy(buf, a)
			copy(buf[8:], r[8*i:8*i+8])
			b.Encrypt(buf, buf)
			tt := binary.BigEndian.Uint64(buf[:8]) ^ uint64(n*j+i+1)
			a = binary.BigEndian.AppendUint64(nil, tt)
			copy(r[8*i:], buf[8:])
		}
	}
	wrapped := append(a, r...)
	blob, _ := json.Marshal(map[string]any{
		"schema_version": "1.0.0",
		"header":         map[string]string{"kid": kid, "alg": "dir", "enc": "CKM_RSA_AES_KEY_WRAP"},
		"ciphertext":     append(encKey, wrapped...), // []byte marshals as base64; the server accepts either alphabet
		"generator":      "atrest e2e",
	})
	return blob
}
