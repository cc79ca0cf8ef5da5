package csetable_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/atrest/atrest/cse"
	"github.com/atrest/atrest/cse/csetable"
	"github.com/atrest/atrest/internal/atresttest"
)

func Example() {
	ctx := context.Background()
	// An in-process atrest for the example; use your account instead.
	dir, _ := os.MkdirTemp("", "csetable-example-")
	defer os.RemoveAll(dir)
	srv, stop, err := atresttest.Run(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	sc, err := aztables.NewServiceClientFromConnectionString(atresttest.ConnectionString(srv), nil)
	if err != nil {
		log.Fatal(err)
	}
	tc := sc.NewClient("people")
	if _, err := tc.CreateTable(ctx, nil); err != nil {
		log.Fatal(err)
	}
	kek, _ := cse.NewAESKEK("local:example", bytes.Repeat([]byte{7}, 32))
	onlySSN := func(pk, rk, property string) bool { return property == "SSN" }
	c, err := csetable.NewClient(tc, csetable.Options{KEK: kek, EncryptProperty: onlySSN, RequireEncryption: true})
	if err != nil {
		log.Fatal(err)
	}

	entity, _ := json.Marshal(aztables.EDMEntity{Entity: aztables.Entity{PartitionKey: "staff", RowKey: "7"},
		Properties: map[string]any{"Name": "Ada", "SSN": "078-05-1120"}})
	if _, err := c.AddEntity(ctx, entity, nil); err != nil {
		log.Fatal(err)
	}
	var stored, plain map[string]any
	raw, _ := tc.GetEntity(ctx, "staff", "7", nil) // what the service holds
	_ = json.Unmarshal(raw.Value, &stored)
	fmt.Println(stored["Name"], stored["SSN@odata.type"])
	resp, err := c.GetEntity(ctx, "staff", "7", nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = json.Unmarshal(resp.Value, &plain)
	fmt.Println(plain["Name"], plain["SSN"])
	// Output:
	// Ada Edm.Binary
	// Ada 078-05-1120
}
