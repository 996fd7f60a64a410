package ocr

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Word is one word of tesseract's TSV output, in pixels of the image
// tesseract read.
type Word struct {
	Block, Par, Line int
	Left, Top        int
	Width, Height    int
	Conf             float64 // 0..100
	Text             string
}

// Line is a line of words.
type Line struct {
	Text          string
	Conf          float64 // mean word confidence, 0..100
	Left, Top     int
	Width, Height int
	Words         int
	WordHeight    int // median word height in pixels
}

// ParseTSV reads tesseract's TSV output (header row, then level,
// page_num, block_num, par_num, line_num, word_num, left, top, width,
// height, conf, text) and returns its words (level 5 rows with text).
func ParseTSV(b []byte) ([]Word, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var words []Word
	row := 0
	for sc.Scan() {
		row++
		line := sc.Text()
		if row == 1 {
			if !strings.HasPrefix(line, "level\t") {
				return nil, fmt.Errorf("tesseract TSV: row 1 is not the header: %.60q", line)
			}
			continue
		}
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "\t", 12)
		if len(f) < 11 {
			return nil, fmt.Errorf("tesseract TSV: row %d has %d fields, want 12", row, len(f))
		}
		if f[0] != "5" || len(f) < 12 || strings.TrimSpace(f[11]) == "" {
			continue
		}
		var n [10]int
		for i := 0; i < 10; i++ {
			v, err := strconv.Atoi(f[i])
			if err != nil {
				return nil, fmt.Errorf("tesseract TSV: row %d field %d: %q is not an integer", row, i+1, f[i])
			}
			n[i] = v
		}
		conf, err := strconv.ParseFloat(f[10], 64)
		if err != nil || conf != conf {
			return nil, fmt.Errorf("tesseract TSV: row %d: conf %q is not a number", row, f[10])
		}
		if n[8] < 0 || n[9] < 0 {
			return nil, fmt.Errorf("tesseract TSV: row %d: negative box size", row)
		}
		words = append(words, Word{Block: n[2], Par: n[3], Line: n[4], Left: n[6], Top: n[7], Width: n[8], Height: n[9],
			Conf: max(0, min(100, conf)), Text: strings.TrimSpace(f[11])})
	}
	return words, sc.Err()
}

// Lines groups words into lines (same block, paragraph and line number),
// in reading order, dropping words below minConf.
func Lines(words []Word, minConf float64) []Line {
	type key struct{ b, p, l int }
	var order []key
	groups := map[key][]Word{}
	for _, w := range words {
		if w.Conf < minConf {
			continue
		}
		k := key{w.Block, w.Par, w.Line}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], w)
	}
	lines := make([]Line, 0, len(order))
	for _, k := range order {
		ws := groups[k]
		var texts []string
		var sum float64
		l, t, r, b := ws[0].Left, ws[0].Top, ws[0].Left+ws[0].Width, ws[0].Top+ws[0].Height
		heights := make([]int, 0, len(ws))
		for _, w := range ws {
			texts = append(texts, w.Text)
			sum += w.Conf
			l, t = min(l, w.Left), min(t, w.Top)
			r, b = max(r, w.Left+w.Width), max(b, w.Top+w.Height)
			heights = append(heights, w.Height)
		}
		lines = append(lines, Line{Text: strings.Join(texts, " "), Conf: sum / float64(len(ws)),
			Left: l, Top: t, Width: r - l, Height: b - t, Words: len(ws), WordHeight: median(heights)})
	}
	return lines
}

func median(v []int) int {
	if len(v) == 0 {
		return 0
	}
	s := append([]int(nil), v...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}
