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
// dealt out to Workers processes (longest first to the least loaded) that each load the model once; their word lists are
// merged in time order. It returns the CPU seconds spent.
func (d Decoder) Decode(ctx context.Context, rawPath string, chunks []Region) ([]Hyp, float64, error) {
	if len(chunks) == 0 {
		return nil, 0, nil
	}
	workers := d.Workers
	if workers < 1 {
		workers = 1
	}
	if workers > len(chunks) {
		workers = len(chunks)
	}
	dir, err := os.MkdirTemp(filepath.Dir(rawPath), "decode-")
	if err != nil {
		return nil, 0, err
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
	ctls := make([]strings.Builder, workers)
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
		for _, i := range assigned[w] {
			c := chunks[i]
			// Frames are 10 ms; the end frame is inclusive.
			fmt.Fprintf(&ctls[w], "%s %d %d c%06d\n", base, c.Start, c.End-1, i)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("w%d.ctl", w)), []byte(ctls[w].String()), 0o644); err != nil {
			return nil, 0, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu   sync.Mutex
		hyps []Hyp
		cpu  float64
		errs = make([]error, workers)
		wg   sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ctm := filepath.Join(dir, fmt.Sprintf("w%d.ctm", w))
			args := []string{
				"-hmm", d.HMM, "-lm", d.LM, "-dict", d.Dict,
				"-adcin", "yes", "-cepdir", filepath.Dir(rawPath), "-cepext", ".raw",
				"-ctl", filepath.Join(dir, fmt.Sprintf("w%d.ctl", w)),
				"-ctm", ctm, "-remove_silence", "no",
			}
			args = append(args, d.Extra...)
			res, err := execx.Run(ctx, execx.Cmd{Name: d.Command, Args: args, MaxStdout: 1 << 20})
			if res != nil {
				mu.Lock()
				cpu += res.CPUSeconds
				mu.Unlock()
			}
			if err != nil {
				errs[w] = err
				cancel()
				return
			}
			f, err := os.Open(ctm)
			if err != nil {
				errs[w] = errcode.Wrap(errcode.ToolFailed, err, "%s wrote no CTM output", d.Command)
				cancel()
				return
			}
			defer f.Close()
			hs, err := ParseCTM(f, chunks)
			if err != nil {
				errs[w] = err
				cancel()
				return
			}
			mu.Lock()
			hyps = append(hyps, hs...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		// The first real failure, not the cancellations it caused.
		if err != nil && errcode.Of(err) != errcode.Canceled {
			return nil, cpu, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, cpu, err
		}
	}
	sort.SliceStable(hyps, func(i, j int) bool { return hyps[i].Start < hyps[j].Start })
	return hyps, cpu, nil
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
		idx, err := strconv.Atoi(strings.TrimPrefix(f[0], "c"))
		if err != nil || idx < 0 || idx >= len(chunks) || !strings.HasPrefix(f[0], "c") {
			return nil, fmt.Errorf("CTM line %d: unknown utterance %q", line, f[0])
		}
		start, err1 := strconv.ParseFloat(f[2], 64)
		dur, err2 := strconv.ParseFloat(f[3], 64)
		if err1 != nil || err2 != nil || start < 0 || dur < 0 {
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
			if c, err := strconv.ParseFloat(f[5], 64); err == nil {
				conf = min(1, max(0, c))
			}
		}
		off := float64(chunks[idx].Start) / 100
		out = append(out, Hyp{Word: word, Start: off + start, End: off + start + dur, Confidence: conf})
	}
	return out, sc.Err()
}
