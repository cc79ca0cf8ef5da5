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
	case "ca":
		err = printCA(os.Args[2:])
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
