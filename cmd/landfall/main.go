// Command landfall is the Landfall media-intelligence server and its tools.
package main

import (
	"os"

	"github.com/landfall/landfall/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:]))
}
