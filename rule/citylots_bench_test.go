package rule

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/landfall/landfall/internal/testutil"
)

// Generated citylots: events of the shape of the San Francisco city-lots
// records that event-ruler's and quamina's benchmarks read (citylots2's
// variant: coordinates as {x, y, z} objects and a firstCoordinates
// object), about 1 KB each, from a seeded generator, so that a benchmark
// walks thousands of distinct events rather than looping over a few.

var citylotsStreets = []string{
	"ACADIA", "ACTON", "BLAKE", "BLANKEN", "BLUXOME", "DRUMM", "DRAKE", "FULTON", "FUNSTON", "RHODE ISLAND",
	"JEFFERSON", "BEACH", "HYDE", "CHESTNUT", "MASON", "GREENWICH", "TURK", "CABRILLO", "LAKE", "BROOKLYN",
	"WASHINGTON", "JACKSON", "CLAY", "GOLDEN GATE", "POLK", "LARKIN", "FILLMORE", "MISSION", "VALENCIA", "GUERRERO",
	"CHICAGO", "SAN DIEGO", "EVERGREEN", "CLAYTON", "BANNING", "SPRING", "KEARNY", "STOCKTON", "GRANT", "TAYLOR",
}

var citylotsTypes = []string{"ST", "AVE", "BLVD", "WAY", "TER", "PL", "CT", "DR", "LN", "ALY"}

// citylotsEvents returns n generated citylots2-shaped events.
func citylotsEvents(n int) [][]byte {
	r := rand.New(rand.NewPCG(20, 2026))
	specials := []string{"1430022", "2607117", "2607218", "3745012", "VACSTWIL"}
	out := make([][]byte, n)
	var b strings.Builder
	for i := range out {
		b.Reset()
		block := r.IntN(7600)
		lot := r.IntN(300)
		mapblklot := fmt.Sprintf("%04d%03d", block, lot)
		if r.IntN(40) == 0 {
			mapblklot = specials[r.IntN(len(specials))]
		}
		from := r.IntN(4000)
		street := citylotsStreets[r.IntN(len(citylotsStreets))]
		odd := "E"
		if from%2 == 1 {
			odd = "O"
		}
		fmt.Fprintf(&b, `{"type":"Feature","properties":{"MAPBLKLOT":%q,"BLKLOT":"%04d%03d","BLOCK_NUM":"%04d","LOT_NUM":"%03d",`+
			`"FROM_ST":"%d","TO_ST":"%d","STREET":%q,"ST_TYPE":%q,"ODD_EVEN":%q},"geometry":{`,
			mapblklot, block, lot, block, lot, from, from+r.IntN(20), street, citylotsTypes[r.IntN(len(citylotsTypes))], odd)
		kind := "Polygon"
		if r.IntN(10) == 0 {
			kind = "MultiPolygon"
		}
		x0, y0 := -122.52+r.Float64()*0.16, 37.70+r.Float64()*0.11
		points := 7 + r.IntN(5)
		fmt.Fprintf(&b, `"type":%q,"coordinates":[[`, kind)
		for p := 0; p < points; p++ {
			if p > 0 {
				b.WriteByte(',')
			}
			x, y := x0+r.Float64()*0.0004, y0+r.Float64()*0.0004
			if p == 0 || p == points-1 {
				x, y = x0, y0
			}
			fmt.Fprintf(&b, `{"x":%s,"y":%s,"z":0}`, strconv.FormatFloat(x, 'f', -1, 64), strconv.FormatFloat(y, 'f', -1, 64))
		}
		fmt.Fprintf(&b, `]],"firstCoordinates":{"x":%s,"y":%s,"z":0}}}`, strconv.FormatFloat(x0, 'f', -1, 64), strconv.FormatFloat(y0, 'f', -1, 64))
		out[i] = []byte(b.String())
	}
	return out
}

// citylots2Rules reads the suite's citylots2 rule types.
func citylots2Rules(tb testing.TB) map[string][]json.RawMessage {
	dir := testutil.ConformanceDir(tb, "eventbridge")
	data, err := os.ReadFile(filepath.Join(dir, "benchmark", "citylots2_rules.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var doc struct {
		RuleTypes map[string]struct {
			Rules []json.RawMessage `json:"rules"`
		} `json:"rule_types"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		tb.Fatal(err)
	}
	out := map[string][]json.RawMessage{}
	for name, rt := range doc.RuleTypes {
		out[name] = rt.Rules
	}
	return out
}

// citylotsRuleSet builds one citylots2 rule type and checks it against the
// reference evaluator on every event, returning how many events matched.
func citylotsRuleSet(tb testing.TB, rules []json.RawMessage, events [][]byte) (*RuleSet, int) {
	s := NewRuleSet()
	pats := make([]*Pattern, len(rules))
	for i, r := range rules {
		if err := s.Add(strconv.Itoa(i), r); err != nil {
			tb.Fatal(err)
		}
		p, err := ParsePattern(r)
		if err != nil {
			tb.Fatal(err)
		}
		pats[i] = p
	}
	matched := 0
	for _, e := range events {
		got, err := s.Match(e)
		if err != nil {
			tb.Fatal(err)
		}
		var want []string
		for i, p := range pats {
			if refMatches(tb, p, e) {
				want = append(want, strconv.Itoa(i))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			tb.Fatalf("event %s: matcher %v, reference %v", e, got, want)
		}
		valid, err := s.AppendMatchesValid(nil, e)
		slices.Sort(valid)
		if err != nil || !slices.Equal(valid, want) {
			tb.Fatalf("event %s: matching as valid JSON %v (%v), reference %v", e, valid, err, want)
		}
		if len(got) > 0 {
			matched++
		}
	}
	return s, matched
}

// TestCitylotsEventsAgree cross-checks every citylots2 rule type against
// the reference evaluator over the generated events, and checks that the
// events are citylots-sized and that each rule type matches some.
func TestCitylotsEventsAgree(t *testing.T) {
	events := citylotsEvents(1000)
	size := 0
	for _, e := range events {
		if !json.Valid(e) {
			t.Fatalf("invalid event %s", e)
		}
		size += len(e)
	}
	if avg := size / len(events); avg < 700 || avg > 1400 {
		t.Fatalf("events average %d bytes, want about 1 KB", avg)
	}
	for name, rules := range citylots2Rules(t) {
		_, matched := citylotsRuleSet(t, rules, events)
		if matched == 0 {
			t.Errorf("%s: no generated event matches", name)
		}
	}
}

// BenchmarkCitylots2Generated runs each citylots2 rule type (the suite's
// citylots2_rules.json) over 5,000 generated citylots2-shaped events of
// about 1 KB, reporting events/s and MB/s. The matcher's answer agrees
// with the reference evaluator on the first thousand (checked before
// timing; TestCitylotsEventsAgree checks the same).
func BenchmarkCitylots2Generated(b *testing.B) {
	events := citylotsEvents(5000)
	rules := citylots2Rules(b)
	names := make([]string, 0, len(rules))
	for name := range rules {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			s, _ := citylotsRuleSet(b, rules[name], events[:1000])
			benchRuleSet(b, s, events)
		})
	}
}

// BenchmarkCitylots2GeneratedValid is BenchmarkCitylots2Generated matching
// with AppendMatchesValid, as the bus does.
func BenchmarkCitylots2GeneratedValid(b *testing.B) {
	events := citylotsEvents(5000)
	rules := citylots2Rules(b)
	names := make([]string, 0, len(rules))
	for name := range rules {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			s, _ := citylotsRuleSet(b, rules[name], events[:1000])
			benchRuleSetValid(b, s, events)
		})
	}
}
