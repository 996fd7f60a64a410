// Command make-samples generates Landfall's bundled sample media (an
// interview, a lecture video and a poster image) and their samples.json
// manifest into a folder, offline, with flite, ffmpeg, sox and ImageMagick.
//
//	make-samples [-out DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/landfall/landfall/internal/mediagen"
)

func main() {
	out := flag.String("out", "samples", "folder to write the samples and samples.json into")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "make-samples: unexpected argument %q (use -out DIR)\n", flag.Arg(0))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m, err := mediagen.MakeSamples(ctx, *out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "make-samples: %v\n", err)
		os.Exit(1)
	}
	for _, s := range m.Samples {
		fmt.Printf("%-10s %-14s %-5s %5.1fs\n", s.Name, filepath.Join(*out, s.File), s.Kind, s.Duration)
	}
	fmt.Printf("manifest   %s\n", filepath.Join(*out, "samples.json"))
}
