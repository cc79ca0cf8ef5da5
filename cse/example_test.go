package cse_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/atrest/atrest/cse"
)

// exampleKEK returns a fixed AES key-encryption key. Real keys come from a
// CSPRNG or a key vault, never from a literal.
func exampleKEK() *cse.AESKEK {
	kek, err := cse.NewAESKEK("local:example-kek", bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		log.Fatal(err)
	}
	return kek
}

func ExampleEncrypter_EncryptBlob() {
	ctx := context.Background()
	kek := exampleKEK()
	plaintext := strings.Repeat("attack at dawn. ", 4)

	// Encrypt: upload the ciphertext read from blob, and store
	// blob.Metadata() as the blob's "encryptiondata" metadata.
	blob, err := (&cse.Encrypter{KEK: kek}).EncryptBlob(ctx, strings.NewReader(plaintext))
	if err != nil {
		log.Fatal(err)
	}
	var stored bytes.Buffer
	if _, err := io.Copy(&stored, blob); err != nil {
		log.Fatal(err)
	}
	metadata := blob.Metadata()

	// Decrypt a download.
	dec := &cse.Decrypter{KEK: kek, RequireEncryption: true}
	r, err := dec.DecryptBlob(ctx, metadata, &stored)
	if err != nil {
		log.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("protocol:", blob.EncryptionData().EncryptionAgent.Protocol)
	fmt.Println("stored bytes:", blob.CiphertextSize(int64(len(plaintext))))
	fmt.Println(string(got) == plaintext)
	// Output:
	// protocol: 2.0
	// stored bytes: 92
	// true
}

func ExampleBlobDecryptor_DecryptRange() {
	ctx := context.Background()
	kek := exampleKEK()
	blob, _ := (&cse.Encrypter{KEK: kek, RegionSize: 16}).EncryptBlob(ctx, strings.NewReader("0123456789abcdefghijklmnopqrstuvwxyz"))
	stored, _ := io.ReadAll(blob)

	bd, err := (&cse.Decrypter{KEK: kek}).OpenBlob(ctx, blob.Metadata())
	if err != nil {
		log.Fatal(err)
	}
	size := int64(len(stored))
	rng, _ := bd.CiphertextRange(14, 5, size) // plaintext bytes 14..18
	fmt.Println("x-ms-range:", rng)
	got, err := bd.DecryptRange(stored[rng.First:rng.Last+1], 14, 5, size)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", got)
	// Output:
	// x-ms-range: bytes=0-87
	// efghi
}

func ExampleEncrypter_EncryptQueueMessage() {
	ctx := context.Background()
	kek := exampleKEK()
	text, err := (&cse.Encrypter{KEK: kek}).EncryptQueueMessage(ctx, "hello, queue")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(text, `{"EncryptedMessageContents": `))

	msg, err := (&cse.Decrypter{KEK: kek, RequireEncryption: true}).DecryptQueueMessage(ctx, text)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(msg)
	// Output:
	// true
	// hello, queue
}

func ExampleEncrypter_EncryptEntity() {
	ctx := context.Background()
	kek := exampleKEK()
	entity := map[string]any{"PartitionKey": "customers", "RowKey": "42", "Name": "Alice", "City": "Zürich"}
	onlyName := func(pk, rk, property string) bool { return property == "Name" }

	stored, err := (&cse.Encrypter{KEK: kek}).EncryptEntity(ctx, entity, onlyName)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(stored["Name@odata.type"], stored["City"])

	got, err := (&cse.Decrypter{KEK: kek, RequireEncryption: true}).DecryptEntity(ctx, stored)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got["Name"], got["City"], len(got))
	// Output:
	// Edm.Binary Zürich
	// Alice Zürich 4
}

func ExampleParseJWK() {
	kek, err := cse.ParseJWK([]byte(`{"kty":"oct","kid":"local:k1","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(kek.KeyID(), kek.Algorithm())
	fmt.Printf("%v\n", kek) // key bytes never print
	// Output:
	// local:k1 A256KW
	// cse.AESKEK(A256KW, "local:k1")
}
