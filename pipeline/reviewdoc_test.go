package pipeline

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

func reviewFixture() *ReviewDoc {
	words := []types.Word{
		{Text: "welcome", Start: 0, End: 0.5, Confidence: 0.4, Speaker: "spk_0"},
		{Text: "to", Start: 0.5, End: 0.7, Confidence: 0.9, Speaker: "spk_0"},
		{Text: "the", Start: 0.7, End: 0.9, Confidence: 0.9, Speaker: "spk_0"},
		{Text: "harbor", Start: 0.9, End: 1.5, Confidence: 0.3, Speaker: "spk_0"},
		{Text: "thank", Start: 2.0, End: 2.4, Confidence: 0.8, Speaker: "spk_1"},
		{Text: "you", Start: 2.4, End: 2.8, Confidence: 0.8, Speaker: "spk_1"},
	}
	return &ReviewDoc{
		Transcript: &types.Transcript{Duration: 3, Text: "Welcome to the harbor. Thank you.", Words: words,
			Segments: []types.Segment{{ID: 0, Start: 0, End: 1.5, Text: "Welcome to the harbor.", Speaker: "spk_0", FirstWord: 0, WordCount: 4},
				{ID: 1, Start: 2.0, End: 2.8, Text: "Thank you.", Speaker: "spk_1", FirstWord: 4, WordCount: 2}},
			Speakers: []types.Speaker{{Label: "spk_0", Seconds: 1.5}, {Label: "spk_1", Seconds: 0.8}}},
		Insights: &types.Insights{Summary: "A report.", Topics: []string{"boats"}, Moderation: []types.Moderation{{Name: "Violence", Confidence: 80}}},
	}
}

func intp(i int) *int { return &i }

func TestApplyEdits(t *testing.T) {
	doc := reviewFixture()
	out, err := ApplyEdits(doc, []Edit{
		{Op: EditWord, Word: intp(3), Value: json.RawMessage(`"harbour"`)},
		{Op: EditSpeaker, Speaker: "spk_1", Value: json.RawMessage(`"Ann"`)},
		{Op: EditSummary, Value: json.RawMessage(`"A harbour report."`)},
		{Op: EditChapters, Value: json.RawMessage(`[{"title":"Thanks","start_seconds":2},{"title":"Opening","start_seconds":0}]`)},
		{Op: EditTopics, Value: json.RawMessage(`["boats", "Boats", "weather"]`)},
		{Op: EditEntities, Value: json.RawMessage(`{"people":["Ann"],"organisations":[],"places":["Harbour"]}`)},
		{Op: EditModeration, Label: "Violence", Value: json.RawMessage(`"dismissed"`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	tr, ins := doc.Transcript, doc.Insights
	// The word keeps its timing, the segment its punctuation and capitals.
	if w := tr.Words[3]; w.Text != "harbour" || w.Start != 0.9 || w.End != 1.5 || w.Confidence != 1 {
		t.Fatalf("word %+v", w)
	}
	if tr.Segments[0].Text != "Welcome to the harbour." || tr.Text != "Welcome to the harbour. Thank you." {
		t.Fatalf("text %q / %q", tr.Segments[0].Text, tr.Text)
	}
	if tr.SpeakerName("spk_1") != "Ann" || tr.SpeakerName("spk_0") != "Speaker 1" {
		t.Fatalf("speakers %+v", tr.Speakers)
	}
	if string(out[0].Before) != `"harbor"` || string(out[1].Before) != `"Speaker 2"` || string(out[2].Before) != `"A report."` {
		t.Fatalf("before values %s %s %s", out[0].Before, out[1].Before, out[2].Before)
	}
	if ins.Chapters[0].Title != "Opening" || len(ins.Topics) != 2 || ins.Entities.Places[0] != "Harbour" || ins.Moderation[0].Verdict != types.VerdictDismissed {
		t.Fatalf("insights %+v", ins)
	}
}

func TestApplyEditsSegmentRetimes(t *testing.T) {
	doc := reviewFixture()
	// Same word count: timings kept.
	if _, err := ApplyEdits(doc, []Edit{{Op: EditSegment, Segment: intp(1), Value: json.RawMessage(`"Thanks, Ann."`)}}); err != nil {
		t.Fatal(err)
	}
	tr := doc.Transcript
	if tr.Words[4].Text != "Thanks" || tr.Words[5].Text != "Ann" || tr.Words[5].Start != 2.4 {
		t.Fatalf("words %+v", tr.Words[4:])
	}
	// More words: the segment's time is shared, later segments shift.
	if _, err := ApplyEdits(doc, []Edit{{Op: EditSegment, Segment: intp(0), Value: json.RawMessage(`"Welcome, all of you, to the harbour."`)}}); err != nil {
		t.Fatal(err)
	}
	s0, s1 := tr.Segments[0], tr.Segments[1]
	if s0.WordCount != 7 || s1.FirstWord != 7 || len(tr.Words) != 9 || tr.Words[0].Start != 0 || tr.Words[6].End != 1.5 {
		t.Fatalf("segments %+v %+v words %d", s0, s1, len(tr.Words))
	}
	for i := 1; i < 7; i++ {
		if tr.Words[i].Start < tr.Words[i-1].End-1e-9 || tr.Words[i].Speaker != "spk_0" {
			t.Fatalf("word %d %+v after %+v", i, tr.Words[i], tr.Words[i-1])
		}
	}
	if tr.Words[7].Text != "Thanks" {
		t.Fatalf("the next segment's words moved wrongly: %+v", tr.Words[7])
	}
}

func TestApplyEditsRefusesBadEdits(t *testing.T) {
	for _, c := range []struct {
		edit Edit
		want string
	}{
		{Edit{Op: "shout"}, "edits/0/op"},
		{Edit{Op: EditWord, Word: intp(99), Value: json.RawMessage(`"x"`)}, "edits/0/word"},
		{Edit{Op: EditWord, Word: intp(0), Value: json.RawMessage(`"two words"`)}, "edit the segment"},
		{Edit{Op: EditWord, Word: intp(0), Value: json.RawMessage(`""`)}, "empty"},
		{Edit{Op: EditWord, Word: intp(0), Value: json.RawMessage(`7`)}, "want a string"},
		{Edit{Op: EditSpeaker, Speaker: "spk_9", Value: json.RawMessage(`"X"`)}, "not a speaker"},
		{Edit{Op: EditSpeaker, Speaker: "spk_0", Value: json.RawMessage(`"<b>"`)}, "speaker name"},
		{Edit{Op: EditChapters, Value: json.RawMessage(`[{"title":"","start_seconds":1}]`)}, "value/0/title"},
		{Edit{Op: EditChapters, Value: json.RawMessage(`[{"title":"x","start_seconds":99}]`)}, "outside the media"},
		{Edit{Op: EditEntities, Value: json.RawMessage(`{"persons":[]}`)}, "edits/0/value"},
		{Edit{Op: EditModeration, Label: "Nudity", Value: json.RawMessage(`"dismissed"`)}, "edits/0/label"},
		{Edit{Op: EditModeration, Label: "Violence", Value: json.RawMessage(`"maybe"`)}, "confirmed or dismissed"},
		{Edit{Op: EditSEO, Value: json.RawMessage(`"` + strings.Repeat("x", 161) + `"`)}, "160"},
	} {
		_, err := ApplyEdits(reviewFixture(), []Edit{c.edit})
		if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want Invalid naming %q", c.edit, err, c.want)
		}
	}
	// An image has no transcript to edit.
	_, err := ApplyEdits(&ReviewDoc{Insights: &types.Insights{}}, []Edit{{Op: EditWord, Word: intp(0), Value: json.RawMessage(`"x"`)}})
	if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "needs a transcript") {
		t.Errorf("word edit without a transcript: %v", err)
	}
}

// FuzzApplyEdits: any list of edits either applies, leaving a transcript
// whose segments still index its words, or is refused as Invalid; nothing
// panics.
func FuzzApplyEdits(f *testing.F) {
	for _, s := range []string{
		`[{"op":"word","word":3,"value":"harbour"}]`,
		`[{"op":"segment","segment":0,"value":"a b c d e f g h"}]`,
		`[{"op":"segment","segment":1,"value":"x"},{"op":"word","word":4,"value":"y"}]`,
		`[{"op":"speaker","speaker":"spk_0","value":"Ann"}]`,
		`[{"op":"chapters","value":[{"title":"t","start_seconds":1}]}]`,
		`[{"op":"entities","value":{"people":["a"]}}]`,
		`[{"op":"moderation","label":"Violence","value":"confirmed"}]`,
		`[{"op":"word","word":-1,"value":"x"}]`,
		`[{"op":"segment","segment":0,"value":"   "}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 4096 {
			return
		}
		var edits []Edit
		if json.Unmarshal(raw, &edits) != nil || len(edits) > 20 {
			return
		}
		doc := reviewFixture()
		_, err := ApplyEdits(doc, edits)
		if err != nil {
			if errcode.Of(err) != errcode.Invalid {
				t.Fatalf("error %v is not Invalid", err)
			}
			return
		}
		tr := doc.Transcript
		n := 0
		for _, s := range tr.Segments {
			if s.FirstWord != n || s.FirstWord+s.WordCount > len(tr.Words) {
				t.Fatalf("segment %+v does not index words (%d words, expected first %d)", s, len(tr.Words), n)
			}
			n += s.WordCount
		}
		if n != len(tr.Words) {
			t.Fatalf("segments cover %d of %d words", n, len(tr.Words))
		}
	})
}
