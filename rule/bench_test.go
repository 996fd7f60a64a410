package rule

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/landfall/landfall/internal/testutil"
)

// Benchmarks run over the suite's benchmark events (real citylots records,
// about 1 KB each). Figures on a shared machine are rough; compare runs
// with benchstat.

func readGz(b testing.TB, path string) []byte {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(gz)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func citylots(b testing.TB) [][]byte {
	dir := testutil.ConformanceDir(b, "eventbridge")
	var out [][]byte
	for _, l := range bytes.Split(readGz(b, filepath.Join(dir, "benchmark", "citylots_sample.jsonl.gz")), []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// ruleSetOf builds n rules of one kind over citylots fields. Rule i is
// distinct; a few of them match the sample events.
func ruleSetOf(b testing.TB, kind string, n int) *RuleSet {
	s := NewRuleSet()
	lots := []string{"0522019", "1137023", "1663033"}
	streets := []string{"GREENWICH", "TURK", "CABRILLO"}
	for i := 0; i < n; i++ {
		var p string
		switch kind {
		case "exact":
			v := fmt.Sprintf("%07d", i*7919%10000000)
			if i < len(lots) {
				v = lots[i]
			}
			p = fmt.Sprintf(`{"type":["Feature"],"properties":{"MAPBLKLOT":[%q]}}`, v)
		case "prefix":
			v := fmt.Sprintf("S%05d", i)
			if i < len(streets) {
				v = streets[i][:3]
			}
			p = fmt.Sprintf(`{"properties":{"STREET":[{"prefix":%q}]}}`, v)
		case "mixed":
			switch i % 4 {
			case 0:
				p = fmt.Sprintf(`{"properties":{"MAPBLKLOT":["%07d"]}}`, i)
			case 1:
				p = fmt.Sprintf(`{"properties":{"STREET":[{"prefix":"X%d"}],"ODD_EVEN":["O"]}}`, i)
			case 2:
				p = fmt.Sprintf(`{"properties":{"FROM_ST":[{"numeric":[">",%d,"<",%d]}]}}`, i, i+10)
			case 3:
				p = fmt.Sprintf(`{"properties":{"STREET":[{"suffix":"Q%d"}]},"type":[{"exists":true}]}`, i)
			}
		}
		if err := s.Add(fmt.Sprintf("%s-%d", kind, i), []byte(p)); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func benchRuleSet(b *testing.B, s *RuleSet, events [][]byte) {
	benchMatch(b, s, events, s.AppendMatches)
}

// benchRuleSetValid measures AppendMatchesValid, the bus's way of matching
// events it already holds as valid JSON.
func benchRuleSetValid(b *testing.B, s *RuleSet, events [][]byte) {
	benchMatch(b, s, events, s.AppendMatchesValid)
}

func benchMatch(b *testing.B, s *RuleSet, events [][]byte, match func([]string, []byte) ([]string, error)) {
	if _, err := s.Match(events[0]); err != nil { // build once
		b.Fatal(err)
	}
	var dst []string
	size := 0
	for _, e := range events {
		size += len(e)
	}
	b.SetBytes(int64(size / len(events)))
	b.ReportAllocs()
	runtime.GC() // the garbage of building the rules is not the matcher's cost
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		dst, err = match(dst[:0], events[i%len(events)])
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkRuleSet(b *testing.B) {
	events := citylots(b)
	for _, kind := range []string{"exact", "prefix", "mixed"} {
		for _, n := range []int{10, 1000, 10000} {
			b.Run(fmt.Sprintf("%s/rules=%d", kind, n), func(b *testing.B) {
				benchRuleSet(b, ruleSetOf(b, kind, n), events)
			})
		}
	}
}

// BenchmarkRuleSetValid is BenchmarkRuleSet matching with
// AppendMatchesValid (parts no rule reads are skipped unchecked).
func BenchmarkRuleSetValid(b *testing.B) {
	events := citylots(b)
	for _, kind := range []string{"exact", "prefix", "mixed"} {
		for _, n := range []int{10, 1000, 10000} {
			b.Run(fmt.Sprintf("%s/rules=%d", kind, n), func(b *testing.B) {
				benchRuleSetValid(b, ruleSetOf(b, kind, n), events)
			})
		}
	}
}

// BenchmarkRuleSetScale measures how the cost per event grows from 10 to
// 10,000 rules: it matches blocks of events against the 10-rule and the
// 10,000-rule set in turn, so that whatever else the machine is doing
// falls on both alike, and reports each one's time per event and their
// ratio (x10k = 10,000-rule cost / 10-rule cost).
func BenchmarkRuleSetScale(b *testing.B) {
	events := citylots(b)
	for _, kind := range []string{"exact", "prefix"} {
		small, large := ruleSetOf(b, kind, 10), ruleSetOf(b, kind, 10000)
		for _, mode := range []string{"valid", "every"} {
			b.Run(kind+"/"+mode, func(b *testing.B) {
				var dst []string
				var took [2]time.Duration
				sets := [2]*RuleSet{small, large}
				runtime.GC()
				b.ReportAllocs()
				b.ResetTimer()
				for done := 0; done < b.N; {
					block := min(1000, b.N-done)
					for k, s := range sets {
						start := time.Now()
						for i := 0; i < block; i++ {
							var err error
							if mode == "valid" {
								dst, err = s.AppendMatchesValid(dst[:0], events[i%len(events)])
							} else {
								dst, err = s.AppendMatches(dst[:0], events[i%len(events)])
							}
							if err != nil {
								b.Fatal(err)
							}
						}
						took[k] += time.Since(start)
					}
					done += block
				}
				b.ReportMetric(float64(took[0].Nanoseconds())/float64(b.N), "ns/event@10")
				b.ReportMetric(float64(took[1].Nanoseconds())/float64(b.N), "ns/event@10k")
				b.ReportMetric(float64(took[1])/float64(took[0]), "x10k")
			})
		}
	}
}

// BenchmarkCitylots2Rules runs event-ruler's rule types (5 rules each) over
// the sample events.
func BenchmarkCitylots2Rules(b *testing.B) {
	dir := testutil.ConformanceDir(b, "eventbridge")
	data, err := os.ReadFile(filepath.Join(dir, "benchmark", "citylots2_rules.json"))
	if err != nil {
		b.Fatal(err)
	}
	var doc struct {
		RuleTypes map[string]struct {
			Rules []json.RawMessage `json:"rules"`
		} `json:"rule_types"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		b.Fatal(err)
	}
	events := citylots(b)
	for name, rt := range doc.RuleTypes {
		b.Run(name, func(b *testing.B) {
			s := NewRuleSet()
			for i, r := range rt.Rules {
				if err := s.Add(fmt.Sprint(i), r); err != nil {
					b.Fatal(err)
				}
			}
			benchRuleSet(b, s, events)
		})
	}
}

func BenchmarkBigEvent(b *testing.B) {
	dir := testutil.ConformanceDir(b, "eventbridge")
	event := readGz(b, filepath.Join(dir, "benchmark", "bigEvent.json.gz"))
	rule, err := os.ReadFile(filepath.Join(dir, "benchmark", "bigEventRule.json"))
	if err != nil {
		b.Fatal(err)
	}
	s := NewRuleSet()
	if err := s.Add("big", rule); err != nil {
		b.Fatal(err)
	}
	got, err := s.Match(event)
	if err != nil || len(got) != 1 {
		b.Fatalf("big event: matched %v, %v; want the rule to match", got, err)
	}
	benchRuleSet(b, s, [][]byte{event})
}

func BenchmarkStatusFlatten(b *testing.B) {
	dir := testutil.ConformanceDir(b, "eventbridge")
	event := readGz(b, filepath.Join(dir, "benchmark", "status.json.gz"))
	s := NewRuleSet()
	for i, p := range []string{
		`{"context":{"user_id":[9034]}}`,
		`{"payload":{"metadata":{"iso_language_code":[{"prefix":"j"}]}}}`,
		`{"payload":{"user":{"screen_name":[{"wildcard":"*a*"}]}}}`,
	} {
		if err := s.Add(fmt.Sprint(i), []byte(p)); err != nil {
			b.Fatal(err)
		}
	}
	benchRuleSet(b, s, [][]byte{event})
}

// BenchmarkRuleSetBuild measures loading n rules and compiling them (the
// first Match after a batch of changes builds the automaton).
func BenchmarkRuleSetBuild(b *testing.B) {
	events := citylots(b)
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				s := ruleSetOf(b, "mixed", n)
				if _, err := s.Match(events[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
