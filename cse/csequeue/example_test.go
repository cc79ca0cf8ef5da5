package csequeue_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/atrest/atrest/cse"
	"github.com/atrest/atrest/cse/csequeue"
	"github.com/atrest/atrest/internal/atresttest"
)

func Example() {
	ctx := context.Background()
	// An in-process atrest for the example; use your account instead.
	dir, _ := os.MkdirTemp("", "csequeue-example-")
	defer os.RemoveAll(dir)
	srv, stop, err := atresttest.Run(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	sc, err := azqueue.NewServiceClientFromConnectionString(atresttest.ConnectionString(srv), nil)
	if err != nil {
		log.Fatal(err)
	}
	q := sc.NewQueueClient("jobs")
	if _, err := q.Create(ctx, nil); err != nil {
		log.Fatal(err)
	}
	kek, _ := cse.NewAESKEK("local:example", bytes.Repeat([]byte{7}, 32))
	c, err := csequeue.NewClient(q, csequeue.Options{KEK: kek, RequireEncryption: true})
	if err != nil {
		log.Fatal(err)
	}

	if _, err := c.EnqueueMessage(ctx, "resize image 42", nil); err != nil {
		log.Fatal(err)
	}
	raw, _ := q.PeekMessage(ctx, nil) // what the service holds
	fmt.Println(strings.HasPrefix(*raw.Messages[0].MessageText, `{"EncryptedMessageContents": `))
	resp, err := c.DequeueMessage(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*resp.Messages[0].MessageText)
	// Output:
	// true
	// resize image 42
}
