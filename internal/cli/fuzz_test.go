package cli

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/landfall/landfall/pipelines"
)

// FuzzStepNames: any definition text gives a table without panicking;
// every Task of it has a non-empty phrase and nothing else shows.
func FuzzStepNames(f *testing.F) {
	f.Add(string(pipelines.MediaDefinition))
	f.Add(`{"States":{"A":{"Type":"Task","Resource":"x:function:landfall-ocr"},"B":{"Type":"Parallel","Branches":[{"States":{"C":{"Type":"Task","Resource":""}}}]}}}`)
	f.Add(`{"States":{"":{"Type":"Task","Resource":":"}}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, def string) {
		for name, phrase := range newStepNames(def) {
			if strings.ContainsAny(phrase, "\r\n\033") {
				t.Fatalf("state %q: phrase %q would break the progress line", name, phrase)
			}
		}
	})
}

// FuzzListenAddr: what listenAddr accepts is a HOST:PORT net can split,
// and a bare port becomes 127.0.0.1:PORT.
func FuzzListenAddr(f *testing.F) {
	for _, s := range []string{"18302", ":8080", "127.0.0.1:8080", "[::1]:80", "localhost", "70000", "-1", "", "host:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := listenAddr(s)
		if err != nil {
			return
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			t.Fatalf("%q → %q: %v", s, a, err)
		}
		if _, err := strconv.Atoi(s); err == nil && a != "127.0.0.1:"+s {
			t.Fatalf("%q → %q", s, a)
		}
	})
}
