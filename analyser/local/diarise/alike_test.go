package diarise

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/internal/mediagen"
)

// der is the diarisation error rate of hyp against ref, in 10 ms frames:
// missed speech, false alarm and speaker confusion over reference speech
// time, with the best one-to-one mapping of hypothesis to reference
// speakers and a 0.25 s collar around reference turn boundaries left
// unscored (the usual NIST convention).
func der(ref []mediagen.TurnTiming, hyp []Turn) float64 {
	end := 0.0
	for _, r := range ref {
		end = math.Max(end, r.End)
	}
	for _, h := range hyp {
		end = math.Max(end, h.End)
	}
	n := int(end*100) + 1
	refAt := make([]string, n)
	skip := make([]bool, n)
	for _, r := range ref {
		for f := int(r.Start * 100); f < int(r.End*100) && f < n; f++ {
			refAt[f] = r.Speaker
		}
		for _, b := range []float64{r.Start, r.End} {
			for f := max(0, int((b-0.25)*100)); f < int((b+0.25)*100) && f < n; f++ {
				skip[f] = true
			}
		}
	}
	hypAt := make([]string, n)
	for _, h := range hyp {
		for f := int(h.Start * 100); f < int(h.End*100) && f < n; f++ {
			hypAt[f] = h.Speaker
		}
	}
	// Overlap counts for the mapping.
	co := map[[2]string]int{}
	var refs, hyps []string
	seenR, seenH := map[string]bool{}, map[string]bool{}
	for f := 0; f < n; f++ {
		if skip[f] {
			continue
		}
		if r := refAt[f]; r != "" && !seenR[r] {
			seenR[r] = true
			refs = append(refs, r)
		}
		if h := hypAt[f]; h != "" && !seenH[h] {
			seenH[h] = true
			hyps = append(hyps, h)
		}
		if refAt[f] != "" && hypAt[f] != "" {
			co[[2]string{hypAt[f], refAt[f]}]++
		}
	}
	mapping := bestMapping(hyps, refs, co)
	var total, errs int
	for f := 0; f < n; f++ {
		if skip[f] {
			continue
		}
		r, h := refAt[f], hypAt[f]
		if r != "" {
			total++
		}
		switch {
		case r != "" && h == "":
			errs++ // missed
		case r == "" && h != "":
			errs++ // false alarm
		case r != "" && mapping[h] != r:
			errs++ // confusion
		}
	}
	if total == 0 {
		return 0
	}
	return float64(errs) / float64(total)
}

// bestMapping maps hypothesis speakers to reference speakers one to one,
// maximising the overlap (exhaustive: a handful of speakers).
func bestMapping(hyps, refs []string, co map[[2]string]int) map[string]string {
	best := map[string]string{}
	bestScore := -1
	used := make([]bool, len(refs))
	cur := map[string]string{}
	var walk func(i, score int)
	walk = func(i, score int) {
		if i == len(hyps) {
			if score > bestScore {
				bestScore = score
				best = map[string]string{}
				for k, v := range cur {
					best[k] = v
				}
			}
			return
		}
		walk(i+1, score) // unmapped
		for j, r := range refs {
			if used[j] {
				continue
			}
			used[j] = true
			cur[hyps[i]] = r
			walk(i+1, score+co[[2]string{hyps[i], r}])
			delete(cur, hyps[i])
			used[j] = false
		}
	}
	walk(0, 0)
	return best
}

func TestDER(t *testing.T) {
	ref := []mediagen.TurnTiming{{Speaker: "A", Start: 0, End: 10}, {Speaker: "B", Start: 10, End: 20}}
	cases := []struct {
		hyp  []Turn
		want float64
	}{
		{[]Turn{{"spk_0", 0, 10}, {"spk_1", 10, 20}}, 0},
		{[]Turn{{"spk_1", 0, 10}, {"spk_0", 10, 20}}, 0},
		{[]Turn{{"spk_0", 0, 20}}, 0.5},
		{[]Turn{{"spk_0", 0, 10}}, 0.5},
		{nil, 1},
	}
	for _, c := range cases {
		if got := der(ref, c.hyp); math.Abs(got-c.want) > 0.03 {
			t.Errorf("der(%v) = %.3f, want %.3f", c.hyp, got, c.want)
		}
	}
}

// TestQualitySpeakersAlike prints the diarisation error rate of BIC
// clustering and of GMM-UBM supervector clustering on generated dialogues
// between voices that sound alike (espeak-ng en-us and en-gb-x-rp) and
// between three speakers (flite and espeak-ng voices), and on the
// male/female flite dialogue.
func TestQualitySpeakersAlike(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for a minute; skipped with -short")
	}
	b, err := os.ReadFile("testdata/alike.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Dialogues []struct {
			Name  string          `json:"name"`
			Set   string          `json:"set"`
			Turns []mediagen.Turn `json:"turns"`
		} `json:"dialogues"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("testdata/alike.json: %v", err)
	}
	path, ref := testDialogue(t)
	type item struct {
		name, set string
		path      string
		ref       []mediagen.TurnTiming
	}
	items := []item{{"male and female voices", "tuning", path, ref}}
	dir := t.TempDir()
	for i, d := range doc.Dialogues {
		p := filepath.Join(dir, fmt.Sprintf("alike%d.wav", i))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		tt, err := mediagen.Dialogue(ctx, p, d.Turns, 0.5, 0.6)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		items = append(items, item{d.Name, d.Set, p, tt})
	}
	for _, it := range items {
		speakers := map[string]bool{}
		for _, r := range it.ref {
			speakers[r.Speaker] = true
		}
		res := map[string]*Output{}
		for _, method := range []string{"bic", "supervector"} {
			out, err := diarise(t, &analyser.Input{MediaID: "d", Path: it.path, Options: json.RawMessage(`{"method":"` + method + `"}`)})
			if err != nil {
				t.Fatalf("%s, %s: %v", it.name, method, err)
			}
			res[method] = out
		}
		b, s := res["bic"], res["supervector"]
		t.Logf("| diarise (%s): %s, %d speakers | DER %.1f%% (BIC, %d found) → %.1f%% (GMM-UBM supervectors, %d found) |", it.set, it.name, len(speakers),
			100*der(it.ref, b.Turns), len(b.Speakers), 100*der(it.ref, s.Turns), len(s.Speakers))
		if it.set == "scoring" && len(s.Speakers) != len(speakers) {
			t.Errorf("%s: supervector clustering found %d speakers, want %d", it.name, len(s.Speakers), len(speakers))
		}
	}
}
