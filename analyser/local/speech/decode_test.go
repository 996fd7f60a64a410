package speech

import (
	"math"
	"strings"
	"testing"

	"github.com/landfall/landfall/types"
)

func TestParseKWSHypseg(t *testing.T) {
	// Detections latest first; the final number ends the earliest.
	line := "c000001 S 0 T -63092 A -63092 L 0 1124 -25307 0 upload service  648 -15189 0 rekognition  196 -4462 0 bucket  232\n" +
		"c000000 S 0 T 0 A 0 L 0 0\n"
	chunks := []Region{{0, 500}, {1000, 3000}}
	spots, err := ParseKWSHypseg(strings.NewReader(line), chunks)
	if err != nil {
		t.Fatal(err)
	}
	want := []Spot{{"upload service", 21.24, 0}, {"rekognition", 16.48, 0}, {"bucket", 11.96, 12.32}}
	if len(spots) != len(want) {
		t.Fatalf("spots %+v", spots)
	}
	for i, s := range spots {
		if s.Phrase != want[i].Phrase || math.Abs(s.Start-want[i].Start) > 1e-9 || math.Abs(s.End-want[i].End) > 1e-9 {
			t.Errorf("spot %d = %+v, want %+v", i, s, want[i])
		}
	}
	// A frame the spotter never set (negative, or past the chunk) drops
	// that detection or end; the rest of the line still counts.
	garbage := "c000001 S 0 T 0 A 0 L 0 1124 -25307 0 upload service  -1087689948 -15189 0 rekognition  196 -4462 0 bucket  -1087689948\n" +
		"c000000 S 0 T 0 A 0 L 0 -1087689948\n"
	spots, err = ParseKWSHypseg(strings.NewReader(garbage), chunks)
	if err != nil {
		t.Fatal(err)
	}
	if len(spots) != 2 || spots[0].Phrase != "upload service" || spots[1].Phrase != "bucket" || spots[1].End != 0 {
		t.Fatalf("garbage frames: spots %+v", spots)
	}
	for _, bad := range []string{"c000000 S 0 T 0\n", "c000009 S 0 T 0 A 0 L 0 5\n", "c000000 S 0 T 0 A 0 L 0 x 1 2 w 3\n", "c000000 S 0 T 0 A 0 L 0 1 2 3 4 5\n"} {
		if _, err := ParseKWSHypseg(strings.NewReader(bad), chunks); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMergeKeywordHits(t *testing.T) {
	words := []types.Word{{Text: "the", Start: 1, End: 1.2}, {Text: "upload", Start: 1.2, End: 1.6}, {Text: "service", Start: 1.6, End: 2.1}, {Text: "wreck", Start: 5, End: 5.3}, {Text: "ignition", Start: 5.3, End: 5.9}}
	lex := Lexicon{"upload": {"AH P L OW D"}, "service": {"S ER V AH S"}, "rekognition": {"R IH K AH G N IH SH AH N"}}
	kws := []string{"upload service", "Rekognition"}
	hits := FindKeywords(words, kws)
	if len(hits) != 1 || hits[0].Source != "transcript" || hits[0].Confidence == nil {
		t.Fatalf("text hits %+v", hits)
	}
	spots := []Spot{{Phrase: "upload service", Start: 1.25}, {Phrase: "rekognition", Start: 5.02}, {Phrase: "unknown", Start: 9}}
	hits = MergeKeywordHits(hits, spots, words, kws, lex)
	if len(hits) != 2 || hits[0].Source != "both" || hits[1].Source != "acoustic" || hits[1].Keyword != "Rekognition" {
		t.Fatalf("merged %+v", hits)
	}
	// 10 phones × 75 ms from 5.02 is 5.77, inside "ignition": snapped to 5.9.
	if hits[1].Start != 5.02 || hits[1].End != 5.9 || hits[1].Confidence != nil {
		t.Fatalf("acoustic hit %+v", hits[1])
	}
}

// FuzzParseKWSHypseg: arbitrary spotter output never panics and yields
// phrases at non-negative times.
func FuzzParseKWSHypseg(f *testing.F) {
	f.Add("c000001 S 0 T -63092 A -63092 L 0 1124 -25307 0 upload service  648 -15189 0 bucket  232\n")
	f.Add("c000000 S 0 T 0 A 0 L 0 0\n")
	f.Fuzz(func(t *testing.T, s string) {
		spots, err := ParseKWSHypseg(strings.NewReader(s), []Region{{0, 100}, {200, 400}})
		if err != nil {
			return
		}
		for _, sp := range spots {
			if sp.Phrase == "" || sp.Start < 0 || (sp.End != 0 && sp.End < sp.Start) {
				t.Fatalf("bad spot %+v", sp)
			}
		}
	})
}
