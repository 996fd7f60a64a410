package rule

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestRuleSetAddRemove(t *testing.T) {
	s := NewRuleSet()
	event := []byte(`{"source":"aws.s3","detail":{"size":4096}}`)
	if got, err := s.Match(event); err != nil || len(got) != 0 {
		t.Fatalf("empty set matched %v, %v", got, err)
	}
	must := func(name, p string) {
		t.Helper()
		if err := s.Add(name, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	must("big", `{"detail":{"size":[{"numeric":[">",1024]}]}}`)
	must("s3", `{"source":["aws.s3"]}`)
	must("other", `{"source":["aws.ec2"]}`)
	if got, _ := s.Match(event); !slices.Equal(got, []string{"big", "s3"}) {
		t.Fatalf("matched %v", got)
	}
	// Replacing a rule keeps its place and uses the new pattern.
	must("big", `{"detail":{"size":[{"numeric":[">",10000]}]}}`)
	if got, _ := s.Match(event); !slices.Equal(got, []string{"s3"}) {
		t.Fatalf("after replace matched %v", got)
	}
	if !s.Remove("s3") || s.Remove("s3") {
		t.Fatal("Remove reported wrongly")
	}
	if got, _ := s.Match(event); len(got) != 0 {
		t.Fatalf("after remove matched %v", got)
	}
	if s.Len() != 2 || !slices.Equal(s.Names(), []string{"big", "other"}) {
		t.Fatalf("names %v", s.Names())
	}
	if err := s.Add("bad", []byte(`{"a":[]}`)); err == nil || s.Len() != 2 {
		t.Fatal("an invalid pattern was added")
	}
	if _, err := s.Match([]byte(`{"a":`)); err == nil {
		t.Fatal("invalid event accepted")
	}
}

// TestRuleSetConcurrent matches while other goroutines add and remove
// rules; run with -race. Rule "fixed" is always present and must always
// match.
func TestRuleSetConcurrent(t *testing.T) {
	s := NewRuleSet()
	if err := s.Add("fixed", []byte(`{"k":[{"prefix":"incoming/"}]}`)); err != nil {
		t.Fatal(err)
	}
	event := []byte(`{"k":"incoming/acme/x.mp4"}`)
	var writers, readers sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 2; w++ {
		writers.Add(1)
		go func(w int) {
			defer writers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", w, i%20)
				if i%3 == 2 {
					s.Remove(name)
				} else if err := s.Add(name, []byte(fmt.Sprintf(`{"k":[{"prefix":"incoming/%d"}]}`, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for i := 0; i < 2000; i++ {
				got, err := s.Match(event)
				if err != nil || !slices.Contains(got, "fixed") {
					t.Errorf("matched %v, %v", got, err)
					return
				}
			}
		}()
	}
	readers.Wait()
	close(stop)
	writers.Wait()
}

// TestEventTooComplex: three independent arrays whose every element
// matches give 60^3 combinations per rule; with a small step budget the
// match stops with an error rather than running on.
func TestEventTooComplex(t *testing.T) {
	old := MaxMatchSteps
	defer func() { MaxMatchSteps = old }()
	p := MustParsePattern(`{"a":{"x":["1"]},"b":{"x":["1"]},"c":{"x":["1"]},"d":{"x":["2"]}}`)
	var parts []string
	for _, k := range []string{"a", "b", "c"} {
		var el []string
		for i := 0; i < 60; i++ {
			el = append(el, `{"x":"1"}`)
		}
		parts = append(parts, fmt.Sprintf("%q:[%s]", k, strings.Join(el, ",")))
	}
	event := []byte("{" + strings.Join(parts, ",") + "}")
	if ok, err := p.Matches(event); err != nil || ok {
		t.Fatalf("with the default budget: %v, %v; want false, nil", ok, err)
	}
	MaxMatchSteps = 10_000
	if _, err := p.Matches(event); !errors.Is(err, ErrEventTooComplex) {
		t.Fatalf("error %v, want ErrEventTooComplex", err)
	}
}

// TestManyIPLiterals: IP address literals are looked up, not scanned, and
// match any spelling of the address.
func TestManyIPLiterals(t *testing.T) {
	s := NewRuleSet()
	for i := 0; i < 2000; i++ {
		if err := s.Add(fmt.Sprintf("ip%d", i), []byte(fmt.Sprintf(`{"ip":["10.1.%d.%d"]}`, i/256, i%256))); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ ip, want string }{
		{"10.1.0.5", "ip5"}, {"10.1.007.207", "ip1999"}, {"10.1.7.208", ""}, {"::ffff:a01:101", "ip257"}, {"::ffff:10.1.1.1", ""}, {"10.1.0.5x", ""},
	} {
		got, err := s.Match([]byte(fmt.Sprintf(`{"ip":%q}`, c.ip)))
		if err != nil || strings.Join(got, ",") != c.want {
			t.Errorf("%s matched %v, %v; want %s", c.ip, got, err, c.want)
		}
	}
	if m := s.machine(); len(m.root.trans) != 1 || len(m.root.trans[0].vm.ips) != 2000 {
		t.Fatal("IP literals are not indexed")
	}
}

// TestDuplicateValues: repeated values in arrays of primitives do not
// multiply the work (5000 × 5000 pairs would exceed the step budget).
func TestDuplicateValues(t *testing.T) {
	p := MustParsePattern(`{"r":["a"],"s":["b"],"t":[{"exists":false}]}`)
	rs := strings.Repeat(`"a",`, 4999) + `"a"`
	ss := strings.Repeat(`"b",`, 4999) + `"b"`
	ok, err := p.Matches([]byte(`{"r":[` + rs + `],"s":[` + ss + `]}`))
	if err != nil || !ok {
		t.Fatalf("match %v, %v; want true", ok, err)
	}
}
