// Command rheos is the Rheos server and its command-line client. All logic
// lives in internal/cli; main only hands over the process arguments.
package main

import (
	"os"

	"github.com/rheos/rheos/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
