package nlp

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/landfall/landfall/types"
)

// ChapterOptions bound topic segmentation.
type ChapterOptions struct {
	MinSeconds   float64 // shortest chapter (default: duration/8, between 8 s and 60 s)
	MinSentences int     // fewest sentences in a chapter (default 3)
	MaxChapters  int     // default 12
	Window       int     // sentences compared on each side of a gap (default 3)
	// Exclude lists lower-case phrases never used as titles (people's names).
	Exclude map[string]bool

	// titleFrom, when set, are the sentences titles are drawn from (the
	// speech cut at unsure words), taken by time within each chapter.
	titleFrom []Sentence
}

// Chapters segments timed sentences by topic with TextTiling (Hearst,
// 1997): lexical similarity between windows either side of each sentence
// gap, boundaries at the deepest valleys, subject to minimum chapter
// length. Each chapter starts on a sentence start and is titled by its own
// best key phrase.
func Chapters(sents []Sentence, duration float64, opt ChapterOptions) []types.Chapter {
	if len(sents) == 0 {
		return nil
	}
	if opt.MinSentences <= 0 {
		opt.MinSentences = 3
	}
	if opt.MaxChapters <= 0 {
		opt.MaxChapters = 12
	}
	if opt.Window <= 0 {
		opt.Window = 3
	}
	if opt.MinSeconds <= 0 {
		opt.MinSeconds = math.Min(60, math.Max(8, duration/8))
	}
	n := len(sents)
	vec := vectors(sents)
	gapScore := make([]float64, n) // gapScore[g]: similarity across the gap before sentence g
	for g := 1; g < n; g++ {
		left, right := map[string]float64{}, map[string]float64{}
		for i := max(0, g-opt.Window); i < g; i++ {
			for w, x := range vec[i] {
				left[w] += x
			}
		}
		for i := g; i < min(n, g+opt.Window); i++ {
			for w, x := range vec[i] {
				right[w] += x
			}
		}
		gapScore[g] = cosine(left, right)
	}
	type gap struct {
		at    int
		depth float64
	}
	var gaps []gap
	var depths []float64
	for g := 1; g < n; g++ {
		lp := gapScore[g]
		for i := g - 1; i >= 1 && gapScore[i] >= lp; i-- {
			lp = gapScore[i]
		}
		rp := gapScore[g]
		for i := g + 1; i < n && gapScore[i] >= rp; i++ {
			rp = gapScore[i]
		}
		d := (lp - gapScore[g]) + (rp - gapScore[g])
		// A long pause is a cue of its own in speech.
		if pause := sents[g].Start - sents[g-1].End; pause > 1.5 {
			d += 0.1
		}
		gaps = append(gaps, gap{g, d})
		depths = append(depths, d)
	}
	cut := threshold(depths)
	sort.Slice(gaps, func(i, j int) bool { return gaps[i].depth > gaps[j].depth })
	starts := []int{0}
	for _, c := range gaps {
		if c.depth <= cut || c.depth <= 0 || len(starts) >= opt.MaxChapters {
			continue
		}
		if fits(starts, c.at, sents, n, opt) {
			starts = append(starts, c.at)
			sort.Ints(starts)
		}
	}
	chapters := make([]types.Chapter, 0, len(starts))
	for k, s := range starts {
		end := n
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		from := sents[s:end]
		if opt.titleFrom != nil {
			lo, hi := sents[s].Start, sents[end-1].End
			var in []Sentence
			for _, c := range opt.titleFrom {
				if c.Start >= lo && c.End <= hi+0.001 {
					in = append(in, c)
				}
			}
			if len(in) > 0 {
				from = in
			}
		}
		chapters = append(chapters, types.Chapter{
			Title:        chapterTitle(from, k, opt.Exclude),
			StartSeconds: math.Round(sents[s].Start*1000) / 1000,
		})
	}
	return chapters
}

// threshold is TextTiling's liberal cut-off: mean depth minus half a
// standard deviation.
func threshold(d []float64) float64 {
	if len(d) == 0 {
		return 0
	}
	var sum, sq float64
	for _, x := range d {
		sum += x
	}
	mean := sum / float64(len(d))
	for _, x := range d {
		sq += (x - mean) * (x - mean)
	}
	return mean - math.Sqrt(sq/float64(len(d)))/2
}

func fits(starts []int, at int, sents []Sentence, n int, opt ChapterOptions) bool {
	all := append(append([]int(nil), starts...), at)
	sort.Ints(all)
	for k, s := range all {
		end := n
		if k+1 < len(all) {
			end = all[k+1]
		}
		if end-s < opt.MinSentences {
			return false
		}
		endTime := sents[end-1].End
		if endTime-sents[s].Start < opt.MinSeconds {
			return false
		}
	}
	return true
}

func chapterTitle(sents []Sentence, k int, exclude map[string]bool) string {
	keys := keyPhrases(sents, 1, exclude)
	if len(keys) > 0 {
		return titleCase(keys[0].Text)
	}
	var content []string
	for _, s := range sents {
		for _, w := range s.Tokens {
			if !isStopword(w) {
				content = append(content, w)
			}
			if len(content) == 4 {
				return titleCase(strings.Join(content, " "))
			}
		}
	}
	if len(content) > 0 {
		return titleCase(strings.Join(content, " "))
	}
	return "Part " + strconv.Itoa(k+1)
}

// ScreenChapters makes chapters from on-screen text: in slide videos each
// new slide is a topic change and its first text line is the best title a
// local model can give. Texts first seen together form one slide; each
// chapter starts on the first sentence that begins at or after the slide
// appears (half a second of slack). It returns nil unless at least two
// slides are found.
func ScreenChapters(ocr []types.OCRText, speech []Sentence, minSeconds float64) []types.Chapter {
	type slide struct {
		at    float64
		title string
	}
	var slides []slide
	sorted := append([]types.OCRText(nil), ocr...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].First < sorted[j].First })
	for _, o := range sorted {
		line := strings.TrimSpace(strings.SplitN(strings.TrimSpace(o.Text), "\n", 2)[0])
		if len(Tokenize(line)) == 0 {
			continue
		}
		if n := len(slides); n > 0 && o.First-slides[n-1].at < 0.5 {
			continue // a second text of the same slide
		}
		slides = append(slides, slide{at: o.First, title: line})
	}
	if len(slides) < 2 {
		return nil
	}
	var out []types.Chapter
	for _, s := range slides {
		start := -1.0
		for _, sent := range speech {
			if sent.Start >= s.at-0.5 {
				start = sent.Start
				break
			}
		}
		if len(speech) == 0 {
			start = s.at
		}
		if start < 0 {
			continue
		}
		start = math.Round(start*1000) / 1000
		if n := len(out); n > 0 && (start-out[n-1].StartSeconds < minSeconds || start == out[n-1].StartSeconds) {
			continue
		}
		out = append(out, types.Chapter{Title: truncateChars(s.title, 80), StartSeconds: start})
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

// ScreenTitle is the first line of the earliest on-screen text: a
// slide video's title slide, a poster's heading. It is "" when no text
// was seen.
func ScreenTitle(ocr []types.OCRText) string {
	best := -1
	for i, o := range ocr {
		if len(Tokenize(o.Text)) == 0 {
			continue
		}
		if best < 0 || o.First < ocr[best].First {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	line := strings.TrimSpace(strings.SplitN(strings.TrimSpace(ocr[best].Text), "\n", 2)[0])
	return truncateChars(line, 80)
}
