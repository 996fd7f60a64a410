//go:build ignore

// Devserver serves the web UI in front of a running Landfall server, for
// working on the UI: /ui/ comes from this package (or, with -dir, straight
// from the static folder on disk, so an edit shows on reload) and every
// other path is proxied to -api.
//
//	go run ./apiserver/webui/devserver.go -api http://127.0.0.1:8080 -addr 127.0.0.1:8090 -dir apiserver/webui/static
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/landfall/landfall/apiserver/webui"
)

func main() {
	api := flag.String("api", "http://127.0.0.1:8080", "URL of the Landfall server")
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	dir := flag.String("dir", "", "serve /ui/ from this folder instead of the embedded files")
	flag.Parse()
	target, err := url.Parse(*api)
	if err != nil {
		log.Fatalf("-api: %v", err)
	}
	mux := http.NewServeMux()
	if *dir != "" {
		mux.Handle("/ui/", http.StripPrefix("/ui/", http.FileServer(http.Dir(*dir))))
	} else {
		mux.Handle("/ui/", webui.Handler())
		mux.Handle("/ui", webui.Handler())
	}
	mux.Handle("/", httputil.NewSingleHostReverseProxy(target))
	log.Printf("web UI at http://%s/ui/ (API %s)", *addr, target)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
