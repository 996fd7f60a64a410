package nlp

import (
	"encoding/json"
	"math"
	"sort"
	"strings"

	"github.com/landfall/landfall/analyser/profile"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// LocalProfile fills an insight profile offline: the fields that can be
// computed honestly from the transcript, the screen and the insights
// already built (show notes from the summary, key points from slides,
// cloze quiz questions, sentiment from a lexicon, action items from
// commitments and requests, moderation findings from moderation labels);
// every other field is null and listed as not available. A profile
// without a local extractor has every field not available.
func LocalProfile(p *profile.Profile, src Sources, ins *types.Insights) (*types.ProfileResult, error) {
	sg := gatherSignals(src)
	out := map[string]any{}
	for _, f := range p.Fields() {
		out[f] = nil
	}
	switch p.Name {
	case "podcast":
		podcast(out, sg, ins)
	case "lecture":
		lecture(out, sg, ins)
	case "support-call":
		supportCall(out, sg)
	case "moderation":
		moderation(out, src)
	}
	res := &types.ProfileResult{Name: p.Name, Title: p.Title, Provider: "local"}
	for _, f := range p.Fields() {
		if v, ok := out[f]; !ok || v == nil {
			res.NotAvailable = append(res.NotAvailable, f)
			out[f] = nil
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(b); err != nil {
		return nil, errcode.Wrap(errcode.Unknown, err, "local profile %s", p.Name)
	}
	res.Output = b
	return res, nil
}

type timed struct {
	Text         string  `json:"text"`
	StartSeconds float64 `json:"start_seconds"`
}

func podcast(out map[string]any, sg signals, ins *types.Insights) {
	if ins.Summary != "" {
		out["show_notes"] = ins.Summary
	}
	if len(ins.Chapters) > 0 {
		out["chapters"] = ins.Chapters
	}
	if len(ins.Entities.People) > 0 {
		out["guests"] = ins.Entities.People
	}
	if m := append(append([]string(nil), ins.Entities.Organisations...), ins.Entities.Places...); len(m) > 0 {
		out["mentions"] = m
	}
	// Quotes: the best-ranked sentences the recogniser was sure of, as
	// said (never a line it was unsure of: a misheard quote is worse than
	// none).
	var sure []Sentence
	for _, s := range sg.speech {
		if s.Unsure == 0 && len(s.Tokens) >= 6 {
			sure = append(sure, s)
		}
	}
	if len(sure) == 0 {
		return
	}
	score := rankSentences(sure, nil)
	idx := make([]int, len(sure))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] > score[idx[b]] })
	type quote struct {
		Text         string  `json:"text"`
		Speaker      string  `json:"speaker"`
		StartSeconds float64 `json:"start_seconds"`
	}
	var qs []quote
	for _, i := range idx[:min(3, len(idx))] {
		s := sure[i]
		qs = append(qs, quote{Text: sentenceCase(s.Text), Speaker: s.words[0].Speaker, StartSeconds: round3(s.Start)})
	}
	sort.Slice(qs, func(a, b int) bool { return qs[a].StartSeconds < qs[b].StartSeconds })
	out["quotes"] = qs
}

func lecture(out map[string]any, sg signals, ins *types.Insights) {
	// Key points: the slides' lines (near perfect), else the summary's
	// sentences, each at the time it appears.
	var points []timed
	seen := map[string]bool{}
	for _, s := range sg.screen {
		k := strings.Join(s.Tokens, " ")
		if seen[k] || len(s.Tokens) < 2 {
			continue
		}
		seen[k] = true
		points = append(points, timed{Text: s.Text, StartSeconds: round3(s.Start)})
	}
	if len(points) == 0 {
		for _, s := range sg.speech {
			if s.Unsure == 0 && strings.Contains(strings.ToLower(ins.Summary), strings.ToLower(s.Text)) {
				points = append(points, timed{Text: sentenceCase(s.Text), StartSeconds: round3(s.Start)})
			}
		}
	}
	if len(points) > 0 {
		out["key_points"] = points
	}
	// Glossary: the topics, each at its first mention.
	type term struct {
		Term         string  `json:"term"`
		StartSeconds float64 `json:"start_seconds"`
	}
	var glossary []term
	pool := append(append([]Sentence(nil), sg.screen...), sg.clean...)
	firstAt := func(phrase string) (float64, bool) {
		want := Tokenize(phrase)
		best, ok := math.Inf(1), false
		for _, s := range pool {
			if containsSeq(s.Tokens, want) && s.Start < best {
				best, ok = s.Start, true
			}
		}
		return best, ok
	}
	for _, t := range ins.Topics {
		if at, ok := firstAt(t); ok {
			glossary = append(glossary, term{Term: t, StartSeconds: round3(at)})
		}
	}
	if len(glossary) > 0 {
		out["glossary"] = glossary
	}
	// Quiz: cloze questions. A sentence the viewer saw or heard clearly
	// that holds a glossary term becomes "Fill in the blank: …", the term
	// its answer.
	type question struct {
		Question     string  `json:"question"`
		Answer       string  `json:"answer"`
		StartSeconds float64 `json:"start_seconds"`
	}
	var quiz []question
	used := map[string]bool{}
	for _, s := range append(append([]Sentence(nil), sg.screen...), sg.speech...) {
		if s.Unsure > 0 || len(s.Tokens) < 4 || len(quiz) == 6 {
			continue
		}
		for _, g := range glossary {
			if used[g.Term] {
				continue
			}
			if q, ok := cloze(s.Text, g.Term); ok {
				quiz = append(quiz, question{Question: "Fill in the blank: " + sentenceCase(q), Answer: g.Term, StartSeconds: round3(s.Start)})
				used[g.Term] = true
				break
			}
		}
	}
	if len(quiz) > 0 {
		sort.SliceStable(quiz, func(a, b int) bool { return quiz[a].StartSeconds < quiz[b].StartSeconds })
		out["quiz_questions"] = quiz
	}
}

// cloze blanks the words of term in text (case-insensitive, whole words).
func cloze(text, term string) (string, bool) {
	words := strings.Fields(text)
	want := strings.Fields(strings.ToLower(term))
	for i := 0; i+len(want) <= len(words); i++ {
		match := true
		for j, w := range want {
			if strings.ToLower(strings.Trim(words[i+j], ".,;:!?\"'()")) != w {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		tail := strings.TrimLeft(words[i+len(want)-1], "\"'(")
		punct := tail[len(strings.TrimRight(tail, ".,;:!?\"')")):]
		out := append(append(append([]string(nil), words[:i]...), "_____"+punct), words[i+len(want):]...)
		return strings.Join(out, " "), true
	}
	return "", false
}

// Sentiment lexicon: small, English, for spoken support calls. Scores are
// the mean of word polarities in a speaker's confident words, a negation
// ("not", "never", "no") flipping the next three words.
var (
	positive = toSet(`thanks thank great good perfect excellent happy glad appreciate helpful resolved fixed works working wonderful awesome love
pleased sorted fine brilliant fantastic`)
	negative = toSet(`bad terrible awful angry annoyed frustrated frustrating upset problem problems broken wrong worst useless hate disappointed
disappointing unacceptable ridiculous slow fail failed failing failure error errors crash crashed complaint cancel refund never waiting`)
	negators = toSet(`not no never don't doesn't didn't isn't wasn't can't won't cannot`)
	// Escalation phrases, as recognised words.
	escalations = []string{"speak to a manager", "speak to your manager", "talk to a manager", "talk to your manager", "supervisor",
		"cancel my account", "cancel my subscription", "cancel the contract", "close my account", "want a refund", "full refund",
		"file a complaint", "make a complaint", "formal complaint", "my lawyer", "legal action", "third time", "second time this week",
		"unacceptable", "ridiculous", "switch to another", "switching provider", "leave a review", "fed up"}
	// Commitments and requests open action items.
	commitments = []string{"i will", "i'll", "we will", "we'll", "i am going to", "i'm going to", "we are going to", "we're going to",
		"let me", "i can send", "i'll send", "please send", "please call", "please check", "please email", "could you send",
		"can you send", "can you check", "make sure", "follow up", "get back to you", "call you back", "send you"}
)

func supportCall(out map[string]any, sg signals) {
	if len(sg.speech) == 0 {
		return
	}
	type polarity struct{ sum, n float64 }
	bySpeaker := map[string]*polarity{}
	var order []string
	type signal struct {
		Signal       string  `json:"signal"`
		Speaker      string  `json:"speaker"`
		StartSeconds float64 `json:"start_seconds"`
	}
	type item struct {
		Text         string  `json:"text"`
		Speaker      string  `json:"speaker"`
		StartSeconds float64 `json:"start_seconds"`
	}
	var signals []signal
	var items []item
	for _, s := range sg.speech {
		spk := ""
		if len(s.words) > 0 {
			spk = s.words[0].Speaker
		}
		if bySpeaker[spk] == nil {
			bySpeaker[spk] = &polarity{}
			order = append(order, spk)
		}
		p := bySpeaker[spk]
		flip := 0
		for _, w := range s.words {
			if unsure(w, sg.trusted) {
				continue
			}
			for _, t := range Tokenize(w.Text) {
				v := 0.0
				switch {
				case negators[t]:
					flip = 3
					continue
				case positive[t]:
					v = 1
				case negative[t]:
					v = -1
				}
				if flip > 0 {
					v = -v
					flip--
				}
				p.sum += v
				if v != 0 {
					p.n++
				}
			}
		}
		text := " " + strings.Join(s.Tokens, " ") + " "
		if s.Unsure == 0 {
			for _, e := range escalations {
				if strings.Contains(text, " "+e+" ") {
					signals = append(signals, signal{Signal: e, Speaker: spk, StartSeconds: round3(s.Start)})
					break
				}
			}
			for _, c := range commitments {
				if strings.Contains(text, " "+c+" ") {
					items = append(items, item{Text: sentenceCase(s.Text), Speaker: spk, StartSeconds: round3(s.Start)})
					break
				}
			}
		}
	}
	type sentiment struct {
		Speaker string  `json:"speaker"`
		Score   float64 `json:"score"`
		Label   string  `json:"label"`
	}
	var sent []sentiment
	for _, spk := range order {
		p := bySpeaker[spk]
		score := 0.0
		if p.n > 0 {
			score = math.Round(p.sum/p.n*100) / 100
		}
		label := "neutral"
		switch {
		case score >= 0.25:
			label = "positive"
		case score <= -0.25:
			label = "negative"
		}
		sent = append(sent, sentiment{Speaker: spk, Score: score, Label: label})
	}
	out["sentiment_by_speaker"] = sent
	out["escalation_signals"] = append([]signal{}, signals...)
	out["action_items"] = append([]item{}, items...)
}

func moderation(out map[string]any, src Sources) {
	if len(src.Moderation) == 0 {
		return // no moderation labels: nothing to reason from offline
	}
	type finding struct {
		Policy          string    `json:"policy"`
		Decision        string    `json:"decision"`
		Reasoning       string    `json:"reasoning"`
		EvidenceSeconds []float64 `json:"evidence_seconds"`
	}
	byPolicy := map[string]*finding{}
	var order []string
	overall := "allow"
	rank := map[string]int{"allow": 0, "review": 1, "block": 2}
	for _, m := range src.Moderation {
		policy := m.ParentName
		if policy == "" {
			policy = m.Name
		}
		decision := "allow"
		switch {
		case m.Confidence >= 90:
			decision = "block"
		case m.Confidence >= 60:
			decision = "review"
		}
		f := byPolicy[policy]
		if f == nil {
			f = &finding{Policy: policy, Decision: decision, EvidenceSeconds: []float64{}}
			byPolicy[policy] = f
			order = append(order, policy)
		}
		if rank[decision] > rank[f.Decision] {
			f.Decision = decision
		}
		f.EvidenceSeconds = append(f.EvidenceSeconds, round3(m.Timestamp))
		f.Reasoning = strings.TrimSpace(f.Reasoning + " The moderation model found " + m.Name + " at " +
			strings.TrimRight(strings.TrimRight(strconvF(m.Confidence), "0"), ".") + "% confidence.")
		if rank[f.Decision] > rank[overall] {
			overall = f.Decision
		}
	}
	var fs []finding
	for _, p := range order {
		fs = append(fs, *byPolicy[p])
	}
	out["policy_findings"] = fs
	out["overall"] = overall
}

func strconvF(f float64) string {
	b, _ := json.Marshal(math.Round(f*10) / 10)
	s := string(b)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
