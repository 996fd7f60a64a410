package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/pipelines"
	"github.com/landfall/landfall/workflow"
)

// taskPhrases names, in plain words, what each of the pipeline's task
// functions (the last part of a Task state's Resource, landfall-<task>) is
// doing while it runs.
var taskPhrases = map[string]string{
	"register":        "reading the file",
	"classify":        "reading the file",
	"media":           "reading the file",
	"transcribe":      "transcribing",
	"diarise":         "finding speakers",
	"ocr":             "reading on-screen text",
	"faces":           "finding faces",
	"labels":          "recognising what is shown",
	"moderate":        "checking for unsafe content",
	"summarise":       "summarising",
	"persist":         "saving",
	"embed":           "indexing for search by meaning",
	"move":            "saving",
	"record-failure":  "recording the failure",
	"notify":          "sending notifications",
	"review-policy":   "checking whether a person reviews it",
	"review-escalate": "escalating the review",
	"review-rerun":    "preparing the re-run a reviewer asked for",
	"review-apply":    "publishing the reviewed version",
	"review-reject":   "recording the rejection",
	"review-open":     "waiting for a reviewer",
	"transcribe-job":  "transcribing (an asynchronous job)",
	// AwaitReview calls its function through the Lambda integration with
	// a task token, and waits for a person.
	"invoke.waitForTaskToken": "waiting for a reviewer",
}

// stepNames maps the state names of a definition to the phrases shown
// while they run. Only Task states are shown; Pass, Choice, Parallel, Map,
// Wait, Succeed and Fail are bookkeeping and map to "".
type stepNames map[string]string

var camelWord = regexp.MustCompile(`[A-Z][a-z0-9]*|[a-z0-9]+`)

// newStepNames reads the Task states of an ASL definition, branches and
// item processors included. A definition that does not parse gives an
// empty table, which shows every state by its own name in words.
func newStepNames(definition string) stepNames {
	names := stepNames{}
	var walk func(states map[string]json.RawMessage)
	walk = func(states map[string]json.RawMessage) {
		for name, raw := range states {
			var s struct {
				Type       string `json:"Type"`
				Resource   string `json:"Resource"`
				Parameters struct {
					FunctionName string `json:"FunctionName"`
				} `json:"Parameters"`
				Branches  []struct{ States map[string]json.RawMessage }
				Iterator  *struct{ States map[string]json.RawMessage }
				Processor *struct{ States map[string]json.RawMessage } `json:"ItemProcessor"`
			}
			if json.Unmarshal(raw, &s) != nil {
				continue
			}
			switch s.Type {
			case "Task":
				res := s.Resource
				if strings.HasPrefix(res, "arn:aws:states:::lambda:invoke") && s.Parameters.FunctionName != "" {
					// The Lambda integration: the function it calls says
					// what the state does.
					res = s.Parameters.FunctionName
				}
				names[name] = resourcePhrase(name, res)
			default:
				names[name] = ""
			}
			for _, b := range s.Branches {
				walk(b.States)
			}
			if s.Iterator != nil {
				walk(s.Iterator.States)
			}
			if s.Processor != nil {
				walk(s.Processor.States)
			}
		}
	}
	var def struct {
		States map[string]json.RawMessage `json:"States"`
	}
	if json.Unmarshal([]byte(definition), &def) == nil {
		walk(def.States)
	}
	return names
}

// defaultStepNames are the step names of the media pipeline that ships
// with the binary, for runs whose definition cannot be read (a tenant key
// may not describe state machines).
func defaultStepNames() stepNames { return newStepNames(string(pipelines.MediaDefinition)) }

// resourcePhrase is the phrase of a Task resource such as
// arn:aws:lambda:…:function:landfall-transcribe; a resource outside the
// table is shown as its state name in words ("DetectLabels" → "detect labels").
func resourcePhrase(state, resource string) string {
	fn := resource[strings.LastIndexAny(resource, ":/")+1:]
	if p, ok := taskPhrases[strings.TrimPrefix(fn, "landfall-")]; ok {
		return p
	}
	return strings.ToLower(strings.Join(camelWord.FindAllString(state, -1), " "))
}

// phrase is the phrase of a state; states missing from the table (a
// definition that did not load) are shown by their names in words.
func (n stepNames) phrase(state string) string {
	if p, ok := n[state]; ok {
		return p
	}
	return strings.ToLower(strings.Join(camelWord.FindAllString(state, -1), " "))
}

// step is one line of progress: consecutive states with the same phrase
// ("reading the file" is registering, classifying and probing) are one step.
type step struct {
	phrase     string
	start, end time.Time
	active     int
	printed    bool
}

// progress shows which steps of a pipeline run and for how long. Finished
// steps are printed one line each with their durations; on a terminal a
// last line names the running steps with a clock that is redrawn.
// Writes to the log go through Logs, which clears that line first.
type progress struct {
	mu     sync.Mutex
	out    io.Writer
	tty    bool
	names  stepNames
	steps  []*step
	seen   map[int64]bool
	begun  time.Time
	drawn  bool
	now    func() time.Time
	header string
}

func newProgress(out io.Writer, tty bool) *progress {
	return &progress{out: out, tty: tty, seen: map[int64]bool{}, now: time.Now}
}

// Start begins the display of one file's run.
func (p *progress) Start(header string, names stepNames) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	p.names, p.steps, p.seen, p.begun, p.header = names, nil, map[int64]bool{}, p.now(), header
	fmt.Fprintln(p.out, header)
}

// SetNames sets the table of step names once the run's definition is known.
func (p *progress) SetNames(names stepNames) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.names = names
}

// Events takes an execution's history (already seen events are skipped).
func (p *progress) Events(evs []workflow.HistoryEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range evs {
		if p.seen[e.ID] {
			continue
		}
		p.seen[e.ID] = true
		entered := strings.HasSuffix(e.Type, "StateEntered")
		if !entered && !strings.HasSuffix(e.Type, "StateExited") {
			continue
		}
		var d struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(e.Details, &d)
		ph := p.names.phrase(d.Name)
		if ph == "" {
			continue
		}
		var s *step
		for i := len(p.steps) - 1; i >= 0; i-- {
			if p.steps[i].phrase == ph && !p.steps[i].printed {
				s = p.steps[i]
				break
			}
		}
		if entered {
			if s == nil {
				s = &step{phrase: ph, start: e.Timestamp}
				p.steps = append(p.steps, s)
				if s.start.Before(p.begun) {
					p.begun = s.start
				}
			}
			s.active++
		} else if s != nil && s.active > 0 {
			s.active--
			s.end = e.Timestamp
		}
	}
	p.flushLocked(false)
	p.drawLocked()
}

// flushLocked prints the finished steps. A step counts as finished when
// nothing of it runs and another step has begun since or runs now (so the
// hidden states between two parts of one step do not split it); at the
// end every step is finished.
func (p *progress) flushLocked(final bool) {
	for i, s := range p.steps {
		if s.printed || (s.active > 0 && !final) {
			continue
		}
		if !final {
			later := false
			for j, o := range p.steps {
				if o != s && !o.printed && (o.active > 0 || j > i) {
					later = true
					break
				}
			}
			if !later {
				continue
			}
		}
		end, note := s.end, ""
		if s.active > 0 || end.IsZero() {
			end, note = p.now(), " (unfinished)"
		}
		p.clearLocked()
		fmt.Fprintf(p.out, "  %-28s %s%s\n", s.phrase, fmtSeconds(end.Sub(s.start)), note)
		s.printed = true
	}
}

// Tick redraws the running line with the current time (terminals only).
func (p *progress) Tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawLocked()
}

func (p *progress) drawLocked() {
	if !p.tty {
		return
	}
	var running []string
	var since time.Time
	for _, s := range p.steps {
		if s.active > 0 && !s.printed {
			running = append(running, s.phrase)
			if since.IsZero() || s.start.Before(since) {
				since = s.start
			}
		}
	}
	now := p.now()
	line := "  waiting for the pipeline to start"
	if len(p.steps) > 0 {
		line = "  …"
	}
	if len(running) > 0 {
		line = fmt.Sprintf("  %-28s %s", strings.Join(running, " + "), fmtSeconds(now.Sub(since)))
	}
	fmt.Fprintf(p.out, "\r\033[K%s   (total %s)", line, fmtSeconds(now.Sub(p.begun)))
	p.drawn = true
}

func (p *progress) clearLocked() {
	if p.drawn {
		fmt.Fprint(p.out, "\r\033[K")
		p.drawn = false
	}
}

// Finish prints the steps not printed yet and removes the running line.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushLocked(true)
	p.clearLocked()
}

// Logs returns a writer for log lines that clears the running line before
// each write; the next Tick draws it again.
func (p *progress) Logs(w io.Writer) io.Writer { return progressLog{p: p, w: w} }

type progressLog struct {
	p *progress
	w io.Writer
}

func (l progressLog) Write(b []byte) (int, error) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	l.p.clearLocked()
	return l.w.Write(b)
}

func fmtSeconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
