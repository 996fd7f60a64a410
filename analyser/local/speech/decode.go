package speech

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/errcode"
)

// Decoder is the pocketsphinx_batch command line shared by the workers.
type Decoder struct {
	Command string // "pocketsphinx_batch"
	HMM     string // acoustic model folder
	LM      string // language model (ARPA or binary)
	Dict    string // pronunciation dictionary
	Workers int    // parallel processes, each loading the model once
	// Extra are further recogniser arguments (beams, weights).
	Extra []string
}

// Hyp is one recognised word with times in seconds from the audio start.
type Hyp struct {
	Word       string
	Start, End float64
	Confidence float64
}

// Decode recognises the chunks of the raw file rawPath. The chunks are
// dealt out to Workers processes (longest first to the least loaded) that
// each load the model once; their word lists are merged in time order.
// It returns the CPU seconds spent.
func (d Decoder) Decode(ctx context.Context, rawPath string, chunks []Region) ([]Hyp, float64, error) {
	args := append([]string{"-lm", d.LM}, d.Extra...)
	var out []Hyp
	cpu, err := d.run(ctx, rawPath, chunks, args, "-ctm", func(r io.Reader) error {
		hs, err := ParseCTM(r, chunks)
		out = append(out, hs...)
		return err
	})
	if err != nil {
		return nil, cpu, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out, cpu, nil
}

// Spot is one keyword spotter detection: the phrase (as recogniser words)
// and where it starts, in seconds from the audio start.
type Spot struct {
	Phrase string
	Start  float64
	End    float64 // only known for a chunk's last detection; else 0
}

// Spot runs pocketsphinx's keyword spotter over the chunks: kwsPath lists
// one phrase per line with its detection threshold ("phrase /1e-20/").
// It searches the audio itself, independent of any language model, so it
// finds words the language model lacks.
func (d Decoder) Spot(ctx context.Context, rawPath string, chunks []Region, kwsPath string) ([]Spot, float64, error) {
	var out []Spot
	cpu, err := d.run(ctx, rawPath, chunks, []string{"-kws", kwsPath}, "-hypseg", func(r io.Reader) error {
		ss, err := ParseKWSHypseg(r, chunks)
		out = append(out, ss...)
		return err
	})
	if err != nil {
		return nil, cpu, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out, cpu, nil
}

// run deals the chunks out to the workers and runs one recogniser process
// per worker with the search arguments args, its results written to the
// file named by outFlag and read by parse (under a lock).
func (d Decoder) run(ctx context.Context, rawPath string, chunks []Region, args []string, outFlag string, parse func(io.Reader) error) (float64, error) {
	if len(chunks) == 0 {
		return 0, nil
	}
	workers := max(1, min(d.Workers, len(chunks)))
	dir, err := os.MkdirTemp(filepath.Dir(rawPath), "decode-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	base := strings.TrimSuffix(filepath.Base(rawPath), ".raw")
	// Deal the chunks out longest first to the least loaded worker, so
	// the workers finish together.
	order := make([]int, len(chunks))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return chunks[order[a]].Len() > chunks[order[b]].Len() })
	load := make([]int, workers)
	assigned := make([][]int, workers)
	for _, i := range order {
		w := 0
		for j := range load {
			if load[j] < load[w] {
				w = j
			}
		}
		load[w] += chunks[i].Len() + 50 // a chunk also costs a fixed start-up
		assigned[w] = append(assigned[w], i)
	}
	for w := range assigned {
		sort.Ints(assigned[w])
		var ctl strings.Builder
		for _, i := range assigned[w] {
			c := chunks[i]
			// Frames are 10 ms; the end frame is inclusive.
			fmt.Fprintf(&ctl, "%s %d %d c%06d\n", base, c.Start, c.End-1, i)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("w%d.ctl", w)), []byte(ctl.String()), 0o644); err != nil {
			return 0, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu   sync.Mutex
		cpu  float64
		errs = make([]error, workers)
		wg   sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			out := filepath.Join(dir, fmt.Sprintf("w%d.out", w))
			a := []string{
				"-hmm", d.HMM, "-dict", d.Dict,
				"-adcin", "yes", "-cepdir", filepath.Dir(rawPath), "-cepext", ".raw",
				"-ctl", filepath.Join(dir, fmt.Sprintf("w%d.ctl", w)),
				outFlag, out, "-remove_silence", "no",
			}
			a = append(a, args...)
			res, err := execx.Run(ctx, execx.Cmd{Name: d.Command, Args: a, MaxStdout: 1 << 20})
			if res != nil {
				mu.Lock()
				cpu += res.CPUSeconds
				mu.Unlock()
			}
			fail := func(err error) {
				errs[w] = err
				cancel()
			}
			if err != nil {
				fail(err)
				return
			}
			f, err := os.Open(out)
			if err != nil {
				fail(errcode.Wrap(errcode.ToolFailed, err, "%s wrote no %s output", d.Command, outFlag))
				return
			}
			defer f.Close()
			mu.Lock()
			err = parse(f)
			mu.Unlock()
			if err != nil {
				fail(errcode.Wrap(errcode.ToolFailed, err, "reading %s output", d.Command))
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		// The first real failure, not the cancellations it caused.
		if err != nil && errcode.Of(err) != errcode.Canceled {
			return cpu, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return cpu, err
		}
	}
	return cpu, nil
}

// chunkIndex reads an utterance id c<index> naming one of n chunks.
func chunkIndex(id string, n int) (int, bool) {
	if !strings.HasPrefix(id, "c") {
		return 0, false
	}
	i, err := strconv.Atoi(id[1:])
	return i, err == nil && i >= 0 && i < n
}

// ParseCTM reads CTM lines "utt channel start duration word confidence"
// where utt is c<index into chunks>, and shifts times by the chunk start.
// Fillers (<s>, </s>, <sil>, [NOISE]…) are dropped and alternate
// pronunciation marks (word(2)) removed.
func ParseCTM(r io.Reader, chunks []Region) ([]Hyp, error) {
	var out []Hyp
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 5 {
			return nil, fmt.Errorf("CTM line %d: %d fields, want 6", line, len(f))
		}
		idx, ok := chunkIndex(f[0], len(chunks))
		if !ok {
			return nil, fmt.Errorf("CTM line %d: unknown utterance %q", line, f[0])
		}
		start, err1 := strconv.ParseFloat(f[2], 64)
		dur, err2 := strconv.ParseFloat(f[3], 64)
		if err1 != nil || err2 != nil || !(start >= 0) || !(dur >= 0) || start > 1e6 || dur > 1e6 {
			return nil, fmt.Errorf("CTM line %d: bad times %q %q", line, f[2], f[3])
		}
		word := f[4]
		if i := strings.IndexByte(word, '('); i > 0 {
			word = word[:i]
		}
		if word == "" || word[0] == '<' || word[0] == '[' || word[0] == '+' {
			continue
		}
		conf := 1.0
		if len(f) >= 6 {
			if c, err := strconv.ParseFloat(f[5], 64); err == nil && c == c {
				conf = min(1, max(0, c))
			}
		}
		off := float64(chunks[idx].Start) / 100
		out = append(out, Hyp{Word: word, Start: off + start, End: off + start + dur, Confidence: conf})
	}
	return out, sc.Err()
}

// frameSlack is how far past its chunk's last frame (10 ms frames) a
// spotter frame may lie and still be taken as real.
const frameSlack = 50

// ParseKWSHypseg reads the keyword spotter's segmentation lines:
// "utt S scale T total A ascr L lscr" followed by detections
// "startframe ascr lscr phrase words…" and a final end frame. Detections
// come latest first; the end frame belongs to the earliest.
func ParseKWSHypseg(r io.Reader, chunks []Region) ([]Spot, error) {
	var out []Spot
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 9 || f[1] != "S" || f[3] != "T" || f[5] != "A" || f[7] != "L" {
			return nil, fmt.Errorf("hypseg line %d: not a segmentation line", line)
		}
		idx, ok := chunkIndex(f[0], len(chunks))
		if !ok {
			return nil, fmt.Errorf("hypseg line %d: unknown utterance %q", line, f[0])
		}
		off := float64(chunks[idx].Start) / 100
		// pocketsphinx_batch sometimes prints a frame it never set (seen:
		// "-1087689948" as a chunk's end frame): a frame outside the chunk
		// cannot be a detection's, so that detection or end is left out
		// rather than failing the whole transcription.
		inChunk := func(sf int) bool { return sf >= 0 && sf <= chunks[idx].Len()+frameSlack }
		rest := f[9:]
		var spots []Spot
		for len(rest) > 0 {
			sf, err := strconv.Atoi(rest[0])
			if err != nil {
				return nil, fmt.Errorf("hypseg line %d: bad frame %q", line, rest[0])
			}
			if len(rest) == 1 { // the final end frame
				if n := len(spots); n > 0 && inChunk(sf) && sf >= int(100*(spots[n-1].Start-off)) {
					spots[n-1].End = off + float64(sf)/100
				}
				break
			}
			if len(rest) < 4 {
				return nil, fmt.Errorf("hypseg line %d: truncated detection", line)
			}
			var words []string
			k := 3
			for ; k < len(rest); k++ {
				if _, err := strconv.Atoi(rest[k]); err == nil {
					break
				}
				words = append(words, rest[k])
			}
			if len(words) == 0 {
				return nil, fmt.Errorf("hypseg line %d: detection without a phrase", line)
			}
			if inChunk(sf) {
				spots = append(spots, Spot{Phrase: strings.Join(words, " "), Start: off + float64(sf)/100})
			}
			rest = rest[k:]
		}
		out = append(out, spots...)
	}
	return out, sc.Err()
}
