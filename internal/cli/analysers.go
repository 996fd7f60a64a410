package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/landfall/landfall/analyser"

	// The offline providers register their analysers in init.
	_ "github.com/landfall/landfall/analyser/local/diarise"
	_ "github.com/landfall/landfall/analyser/local/faces"
	_ "github.com/landfall/landfall/analyser/local/language"
	_ "github.com/landfall/landfall/analyser/local/mediatools"
	_ "github.com/landfall/landfall/analyser/local/nlp"
	_ "github.com/landfall/landfall/analyser/local/ocr"
	_ "github.com/landfall/landfall/analyser/local/probe"
	_ "github.com/landfall/landfall/analyser/local/speech"
)

func init() {
	Register(Command{
		Name:    "analysers",
		Usage:   "[--task T] [--json] [--check]",
		Summary: "list the registered analysers: task, provider, media kinds, external commands and whether each is installed, and their options",
		Run:     analysersList,
	})
	Register(Command{
		Name:    "analysers schema",
		Usage:   "ID",
		Summary: "print one analyser's output JSON Schema (ID with or without the analyser. prefix)",
		Run:     analysersSchema,
	})
}

// analyserInfo is one analyser as `landfall analysers --json` prints it.
type analyserInfo struct {
	ID       string    `json:"id"`
	Task     string    `json:"task"`
	Provider string    `json:"provider"`
	Summary  string    `json:"summary"`
	Kinds    []string  `json:"kinds"` // empty: any kind
	Requires []command `json:"requires"`
	// Ready is true when every required command is installed.
	Ready        bool            `json:"ready"`
	Options      []optionInfo    `json:"options"`
	OutputSchema json.RawMessage `json:"output_schema,omitempty"`
}

// optionInfo is one option of an analyser's spec.
type optionInfo struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Default     any      `json:"default,omitempty"`
	Range       string   `json:"range,omitempty"` // interval notation; for strings bytes, for lists items
	Enum        []string `json:"enum,omitempty"`
	Description string   `json:"description"`
}

// command is an external command an analyser runs.
type command struct {
	Name      string `json:"name"`
	Installed bool   `json:"installed"`
	Path      string `json:"path,omitempty"` // where PATH finds it
}

func describeAnalyser(s analyser.Spec) analyserInfo {
	info := analyserInfo{
		ID: s.ID, Task: s.Task, Provider: s.Provider, Summary: s.Summary,
		Kinds: []string{}, Requires: []command{}, Ready: true, Options: []optionInfo{}, OutputSchema: s.OutputSchema,
	}
	for _, o := range s.Options {
		info.Options = append(info.Options, optionInfo{Name: o.Name, Type: string(o.Type), Default: o.Default, Range: o.Range(),
			Enum: o.Enum, Description: o.Description})
	}
	for _, k := range s.Kinds {
		info.Kinds = append(info.Kinds, string(k))
	}
	for _, name := range s.Requires {
		c := command{Name: name}
		if p, err := exec.LookPath(name); err == nil {
			c.Installed, c.Path = true, p
		} else {
			info.Ready = false
		}
		info.Requires = append(info.Requires, c)
	}
	return info
}

func analysersList(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "analysers")
	task := fs.String("task", "", "list only the analysers of this task (classify, transcribe, ocr, …)")
	asJSON := fs.Bool("json", false, "print a JSON array with each analyser's summary, command paths and output schema")
	check := fs.Bool("check", false, "exit 1 when a listed analyser's external command is not installed")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return UsageError("unexpected argument %q (to print a schema: landfall analysers schema ID)", rest[0])
	}
	var list []analyserInfo
	tasks := map[string]bool{}
	for _, s := range analyser.All() {
		tasks[s.Task] = true
		if *task == "" || s.Task == *task {
			list = append(list, describeAnalyser(s))
		}
	}
	if *task != "" && !tasks[*task] {
		return UsageError("--task %q: no analyser serves it (tasks: %s)", *task, strings.Join(sortedKeys(tasks), ", "))
	}
	if *asJSON {
		if list == nil {
			list = []analyserInfo{}
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTASK\tPROVIDER\tKINDS\tREQUIRES")
		for _, a := range list {
			kinds := strings.Join(a.Kinds, ",")
			if kinds == "" {
				kinds = "any"
			}
			req := make([]string, 0, len(a.Requires))
			for _, c := range a.Requires {
				state := "ok"
				if !c.Installed {
					state = "MISSING"
				}
				req = append(req, c.Name+" "+state)
			}
			reqs := strings.Join(req, ", ")
			if reqs == "" {
				reqs = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Task, a.Provider, kinds, reqs)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if err := writeOptions(env, list); err != nil {
			return err
		}
	}
	if missing := missingCommands(list); len(missing) > 0 {
		fmt.Fprintf(env.Stderr, "landfall analysers: not installed: %s\n", strings.Join(missing, ", "))
		if *check {
			return &ExitError{Code: ExitFailure}
		}
	}
	return nil
}

// writeOptions prints each listed analyser's options as a table.
func writeOptions(env *Env, list []analyserInfo) error {
	for _, a := range list {
		if len(a.Options) == 0 {
			continue
		}
		fmt.Fprintf(env.Stdout, "\n%s options:\n", a.ID)
		tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tTYPE\tDEFAULT\tRANGE\tDESCRIPTION")
		for _, o := range a.Options {
			def := "-"
			if o.Default != nil {
				b, _ := json.Marshal(o.Default)
				def = string(b)
			}
			rng := o.Range
			if len(o.Enum) > 0 {
				rng = strings.Join(o.Enum, "|")
			}
			if rng == "" {
				rng = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", o.Name, o.Type, def, rng, o.Description)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// missingCommands lists, once each and sorted, the required commands that
// are not installed, each with the analysers that need it.
func missingCommands(list []analyserInfo) []string {
	need := map[string][]string{}
	for _, a := range list {
		for _, c := range a.Requires {
			if !c.Installed {
				need[c.Name] = append(need[c.Name], a.ID)
			}
		}
	}
	out := make([]string, 0, len(need))
	for _, name := range sortedKeys(need) {
		out = append(out, fmt.Sprintf("%s (needed by %s)", name, strings.Join(need[name], ", ")))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func analysersSchema(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "analysers schema")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return UsageError("want one analyser id, e.g. landfall analysers schema analyser.ocr.tesseract")
	}
	id := rest[0]
	a, ok := analyser.Lookup(id)
	if !ok && !strings.HasPrefix(id, "analyser.") {
		a, ok = analyser.Lookup("analyser." + id)
	}
	if !ok {
		ids := []string{}
		for _, s := range analyser.All() {
			ids = append(ids, s.ID)
		}
		return UsageError("unknown analyser %q (have: %s)", id, strings.Join(ids, ", "))
	}
	spec := a.Spec()
	if len(spec.OutputSchema) == 0 {
		return fmt.Errorf("analyser %s declares no output schema", spec.ID)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, spec.OutputSchema, "", "  "); err != nil {
		return fmt.Errorf("analyser %s: output schema is not valid JSON: %w", spec.ID, err)
	}
	buf.WriteByte('\n')
	_, err = env.Stdout.Write(buf.Bytes())
	return err
}
