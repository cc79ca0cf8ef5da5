// Command atrest runs an Azure-Storage-compatible service whose every stored
// byte is encrypted, and the tools around it.
package main

import (
	"fmt"
	"os"
)

const usage = `atrest: Azure-compatible storage, encrypted at rest

Commands:
  serve    run the storage services (Blob on 127.0.0.1:10000 by default)
  verify   prove a data directory holds only authenticated ciphertext
  ca       print the local CA certificate that HTTPS endpoints use
  cse      upload and download blobs with client-side encryption (resumable)
  rewrap   re-wrap an account's data keys under its current KEK (resumable)
  account  create, update, show, list storage accounts; refresh-key (management API)
  scope    create, update, show, list an account's encryption scopes
  user-identity  create, show, list, delete user-assigned managed identities

Key Vault (https://{vault}.localhost:8443, token issuer https://localhost:8444):
  vault      create, list, protect, delete vaults
  principal  create, list, delete principals; reset their secrets
  role       assign, list, remove roles (Key Vault Administrator, Crypto Officer, ...)
  key        create, show, rotate, delete, recover, purge, back up and restore keys
  audit      read and filter the audit log
  clock      show or advance the service clock (rotation, expiry, retention tests)
  identity   show the tenant and endpoints; rotate the token-signing key

Run "atrest COMMAND -h" for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "verify":
		err = verify(os.Args[2:])
	case "cse":
		err = cseCommand(os.Args[2:])
	case "ca":
		err = printCA(os.Args[2:])
	case "rewrap":
		err = rewrapCommand(os.Args[2:])
	case "account", "scope", "user-identity":
		err = mgmtCommand(os.Args[1], os.Args[2:])
	case "vault", "principal", "role", "key", "audit", "clock", "identity":
		err = adminCommand(os.Args[1], os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "atrest: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "atrest:", err)
		os.Exit(1)
	}
}
