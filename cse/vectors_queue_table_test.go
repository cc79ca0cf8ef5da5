package cse

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"
)

// TestQueueVectorsDecrypt decrypts every SDK-written message, as stored and
// base64-wrapped the way .NET stores it with base64 message encoding.
func TestQueueVectorsDecrypt(t *testing.T) {
	ctx := context.Background()
	for _, v := range loadVectors(t, "queue") {
		t.Run(v.ID, func(t *testing.T) {
			kek := v.kek(t)
			d := &Decrypter{KEK: kek, RequireEncryption: true}
			got, err := d.DecryptQueueMessage(ctx, v.Stored.MessageText)
			if err != nil || got != v.Plaintext.EncryptedText {
				t.Fatalf("got %q, %v; want %q", got, err, v.Plaintext.EncryptedText)
			}
			switch v.Expect {
			case "not-encrypted":
				if v.Stored.MessageText != "" {
					t.Fatal("not-encrypted vector with a message text")
				}
				out, err := (&Encrypter{KEK: kek}).EncryptQueueMessage(ctx, "")
				if err != nil || out != "" {
					t.Fatalf("empty message encrypted to %q, %v", out, err)
				}
				return
			case "decrypt-ok":
			default:
				t.Fatalf("expect %q", v.Expect)
			}
			wrapped := base64.StdEncoding.EncodeToString([]byte(v.Stored.MessageText))
			if got, err := d.DecryptQueueMessage(ctx, wrapped); err != nil || got != v.Plaintext.EncryptedText {
				t.Fatalf("base64-wrapped envelope: %q, %v", got, err)
			}
			checkQueueWriter(t, v, kek)
		})
	}
}

// checkQueueWriter encrypts the vector's text with its CEK and compares the
// envelope with the SDK's: same layout and document; the ciphertext differs
// only by the nonce for 2.0 (Python draws it at random, we write zeros).
func checkQueueWriter(t *testing.T, v *vector, kek KeyEncryptionKey) {
	t.Helper()
	env := queueEnvelope(v.Stored.MessageText)
	sdk, err := ParseEncryptionData(env[envelopeData])
	if err != nil {
		t.Fatal(err)
	}
	var iv []byte
	if !sdk.isV2() {
		iv = unhex(t, v.Derived.IVHex)
	}
	ck, err := (&Encrypter{KEK: kek}).contentKeyFrom(context.Background(), sdk.EncryptionAgent.Protocol, DefaultRegionSize, newSecret(unhex(t, v.Derived.CEKHex)), iv)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(kek.Algorithm(), "RSA") {
		ck.ed.WrappedContentKey.EncryptedKey = sdk.WrappedContentKey.EncryptedKey
	}
	ours, err := encryptQueueWith(ck, v.Plaintext.EncryptedText)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(v.Stored.MessageText, sdk.KeyWrappingMetadata["EncryptionLibrary"], EncryptionLibrary, 1)
	if sdk.isV2() { // substitute our nonce into the SDK's ciphertext
		var s string
		_ = json.Unmarshal(env[envelopeContents], &s)
		ct := unb64(t, s)
		ourEnv := queueEnvelope(ours)
		var o string
		_ = json.Unmarshal(ourEnv[envelopeContents], &o)
		want = strings.Replace(want, s, o, 1)
		if len(unb64(t, o)) != len(ct) {
			t.Fatal("ciphertext length differs")
		}
	}
	if ours != want {
		t.Fatalf("envelope\n got %s\nwant %s", ours, want)
	}
	got, err := (&Decrypter{KEK: kek}).DecryptQueueMessage(context.Background(), ours)
	if err != nil || got != v.Plaintext.EncryptedText {
		t.Fatalf("own envelope: %q, %v", got, err)
	}
}

// TestTableVectorsDecrypt decrypts every entity (both IV layouts) and checks
// that our writer reproduces the SDK's property ciphertexts.
func TestTableVectorsDecrypt(t *testing.T) {
	ctx := context.Background()
	for _, v := range loadVectors(t, "table") {
		t.Run(v.ID, func(t *testing.T) {
			kek := v.kek(t)
			got, err := (&Decrypter{KEK: kek, RequireEncryption: true}).DecryptEntity(ctx, v.Stored.EntityJSON)
			if err != nil {
				t.Fatal(err)
			}
			want := maps.Clone(v.Stored.EntityJSON)
			for _, k := range []string{EntityMetadataProperty, EntityPropertyListProperty} {
				delete(want, k)
				delete(want, k+odataTypeSuffix)
			}
			for _, name := range v.Plaintext.EncryptedProperties {
				want[name] = v.Plaintext.Entity[name]
				delete(want, name+odataTypeSuffix)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("entity\n got %v\nwant %v", got, want)
			}
			checkTableWriter(t, v, kek)
		})
	}
}

func checkTableWriter(t *testing.T, v *vector, kek KeyEncryptionKey) {
	t.Helper()
	sdk, err := ParseEncryptionData([]byte(v.Stored.EntityJSON[EntityMetadataProperty].(string)))
	if err != nil {
		t.Fatal(err)
	}
	if sdk.javaTableLayout() {
		return // we write only the Python/.NET layout
	}
	ck, err := (&Encrypter{KEK: kek}).contentKeyFrom(context.Background(), Protocol1_0, 0, newSecret(unhex(t, v.Derived.CEKHex)), unhex(t, v.Derived.EntityIVHex))
	if err != nil {
		t.Fatal(err)
	}
	plain := maps.Clone(v.Plaintext.Entity)
	pk, rk, _ := entityKeys(plain)
	out := encryptEntityWith(ck, plain, pk, rk, v.Plaintext.EncryptedProperties)
	for _, name := range v.Plaintext.EncryptedProperties {
		if out[name] != v.Stored.EntityJSON[name] || out[name+odataTypeSuffix] != edmBinary {
			t.Errorf("%s: %v, SDK wrote %v", name, out[name], v.Stored.EntityJSON[name])
		}
	}
	// Same list order as the SDK here, so the encrypted list matches too.
	if out[EntityPropertyListProperty] != v.Stored.EntityJSON[EntityPropertyListProperty] {
		t.Errorf("property list ciphertext differs")
	}
	if !strings.HasPrefix(kek.Algorithm(), "RSA") {
		want := strings.Replace(v.Stored.EntityJSON[EntityMetadataProperty].(string), sdk.KeyWrappingMetadata["EncryptionLibrary"], EncryptionLibrary, 1)
		if out[EntityMetadataProperty] != want {
			t.Errorf("metadata\n got %s\nwant %s", out[EntityMetadataProperty], want)
		}
	}
}
