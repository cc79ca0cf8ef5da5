package cseblob_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/atrest/atrest/cse"
	"github.com/atrest/atrest/cse/cseblob"
	"github.com/atrest/atrest/internal/atresttest"
)

// exampleAccount starts an in-process atrest for the example; use your
// own account's connection string instead.
func exampleAccount() (conn string, stop func()) {
	dir, err := os.MkdirTemp("", "cseblob-example-")
	if err != nil {
		log.Fatal(err)
	}
	srv, stopSrv, err := atresttest.Run(dir)
	if err != nil {
		log.Fatal(err)
	}
	return atresttest.ConnectionString(srv), func() { stopSrv(); os.RemoveAll(dir) }
}

func Example() {
	ctx := context.Background()
	conn, stop := exampleAccount()
	defer stop()
	az, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := az.CreateContainer(ctx, "docs", nil); err != nil {
		log.Fatal(err)
	}
	// A local AES key-encryption key; Key Vault keys come from csekv.
	kek, err := cse.NewAESKEK("local:example", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		log.Fatal(err)
	}
	c, err := cseblob.NewClient(az, cseblob.Options{KEK: kek, RequireEncryption: true})
	if err != nil {
		log.Fatal(err)
	}

	plaintext := strings.Repeat("client-side encrypted. ", 1000)
	up, err := c.Upload(ctx, "docs", "note.txt", strings.NewReader(plaintext), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored bytes:", up.Size, "protocol:", up.EncryptionData.EncryptionAgent.Protocol)

	// A ranged download fetches only the region holding the range.
	d, err := c.Download(ctx, "docs", "note.txt", &cseblob.DownloadOptions{Range: blob.HTTPRange{Offset: 23, Count: 22}})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Body.Close()
	got, err := io.ReadAll(d.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("plaintext size: %d, bytes 23-44: %q\n", d.Size, got)
	// Output:
	// stored bytes: 23028 protocol: 2.0
	// plaintext size: 23000, bytes 23-44: "client-side encrypted."
}
