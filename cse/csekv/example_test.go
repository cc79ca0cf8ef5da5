package csekv_test

import (
	"context"
	"log"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/atrest/atrest/cse"
	"github.com/atrest/atrest/cse/csekv"
)

// A Key Vault key as the KEK for writing, and a resolver that reads data
// written under any version of any key in that vault.
func Example() {
	ctx := context.Background()
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		log.Fatal(err)
	}
	const vault = "https://my-vault.vault.azure.net"
	keys, err := azkeys.NewClient(vault, cred, nil)
	if err != nil {
		log.Fatal(err)
	}
	kek, err := csekv.New(ctx, keys, "blob-kek", "", nil) // current version
	if err != nil {
		log.Fatal(err)
	}
	enc := &cse.Encrypter{KEK: kek}
	dec := &cse.Decrypter{KEK: kek, Resolver: &csekv.Resolver{Vaults: []string{vault}, Credential: cred}}
	_, _ = enc, dec
}
