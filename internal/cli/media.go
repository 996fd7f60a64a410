package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/client"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

func init() {
	for _, c := range []Command{
		{Name: "media upload", Usage: "FILE... [--wait] [--timeout 30m]", Summary: "upload files to a server (and wait for their results)", Run: mediaUpload},
		{Name: "media get", Usage: "ID", Summary: "print one media record", Run: mediaGet},
		{Name: "media delete", Usage: "ID [--json]", Summary: "delete a media item, its files, artefacts, search entries and failures", Run: mediaDelete},
		{Name: "media list", Usage: "[--status S] [--kind K] [--since 24h] [--limit N]", Summary: "list media newest first", Run: mediaList},
		{Name: "media search", Usage: "QUERY", Summary: "find moments: words said or shown, names, labels, chapters (\"a phrase\", -not, field:value)", Run: mediaSearch},
		{Name: "media export", Usage: "ID NAME", Summary: "print an export (captions.vtt, captions.srt, chapters.json, transcript.json, …)", Run: mediaExport},
		{Name: "failures list", Usage: "[--limit N]", Summary: "list failures newest first", Run: failuresList},
		{Name: "failures redrive", Usage: "ID", Summary: "run a failed item's pipeline again", Run: failuresRedrive},
	} {
		Register(c)
	}
}

// clientFlags adds the flags every server command takes.
func clientFlags(env *Env, fs *flag.FlagSet) func() *client.Client {
	server := fs.String("server", "", "server URL (default $LANDFALL_SERVER or http://127.0.0.1:8080)")
	key := fs.String("api-key", "", "API key (default $LANDFALL_API_KEY)")
	tenant := fs.String("tenant", "", "tenant (open servers only; an API key fixes it)")
	return func() *client.Client {
		c := &client.Client{BaseURL: *server, APIKey: *key, Tenant: *tenant}
		if c.BaseURL == "" {
			c.BaseURL = env.Getenv("LANDFALL_SERVER")
		}
		if c.BaseURL == "" {
			c.BaseURL = "http://127.0.0.1:8080"
		}
		if c.APIKey == "" {
			c.APIKey = env.Getenv("LANDFALL_API_KEY")
		}
		return c
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func mediaUpload(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "media upload")
	mk := clientFlags(env, fs)
	wait := fs.Bool("wait", false, "wait until each file's pipeline has finished and print its results")
	vocab := fs.String("vocabulary", "", "comma-separated words the transcriber should expect (names, jargon)")
	timeout := fs.Duration("timeout", 30*time.Minute, "how long --wait waits")
	files, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return UsageError("media upload: name at least one file")
	}
	c := mk()
	var ids []string
	for _, f := range files {
		var words []string
		for _, w := range strings.Split(*vocab, ",") {
			if w = strings.TrimSpace(w); w != "" {
				words = append(words, w)
			}
		}
		m, err := c.Upload(ctx, f, words...)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		fmt.Fprintf(env.Stdout, "%s: uploaded as %s (%s)\n", f, m.ID, m.BucketKey)
		ids = append(ids, m.ID)
	}
	if !*wait {
		return nil
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	failed := 0
	pr := newProgress(env.Stdout, isTerminal(env.Stdout))
	for i, id := range ids {
		m, err := waitMedia(ctx, c, id, files[i]+" (media "+id+")", pr)
		if err != nil && parent.Err() != nil {
			// Ctrl-C ends the wait, not the work: the server goes on.
			return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted: the server goes on processing the upload(s); "+
				"follow them with `landfall media get ID` or `landfall media list` (ids: %s)", strings.Join(ids[i:], ", "))}
		}
		if err != nil {
			return err
		}
		// An item waiting for a reviewer has been processed; it is not a
		// failure.
		if m.Status != types.StatusSucceeded && m.Status != types.StatusInReview {
			failed++
		}
		printMedia(env.Stdout, c, files[i], m)
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d of %d file(s) failed or were skipped", failed, len(ids))}
	}
	return nil
}

// waitMedia waits until a media item is settled, showing the steps of its
// run when pr is set. The steps come from the execution's history when the
// key may read it; otherwise only the clock runs.
func waitMedia(ctx context.Context, c *client.Client, id, header string, pr *progress) (*client.Media, error) {
	var exec string
	if pr != nil {
		pr.Start(header, defaultStepNames())
		defer pr.Finish()
	}
	for {
		m, err := c.GetMedia(ctx, id)
		if err != nil {
			return nil, err
		}
		if pr != nil && exec == "" && m.ExecutionID != "" {
			exec = m.ExecutionID
			var x workflow.Execution
			var sm workflow.StateMachine
			if wfCall(ctx, c, http.MethodGet, "/v1/executions/"+exec, nil, nil, &x) == nil &&
				wfCall(ctx, c, http.MethodGet, "/v1/state-machines/"+x.StateMachineARN, nil, nil, &sm) == nil {
				pr.SetNames(newStepNames(sm.Definition))
			}
		}
		if pr != nil && exec != "" {
			var page struct {
				Events []workflow.HistoryEvent `json:"events"`
			}
			if wfCall(ctx, c, http.MethodGet, "/v1/executions/"+exec+"/history", url.Values{"limit": {"1000"}}, nil, &page) == nil {
				pr.Events(page.Events)
			}
		}
		switch m.Status {
		case types.StatusPending, types.StatusProcessing:
		default:
			return m, nil
		}
		for range 3 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("media %s is still %s; its run continues on the server (see `landfall media get %s`): %w", id, m.Status, id, ctx.Err())
			case <-time.After(150 * time.Millisecond):
			}
			if pr != nil {
				pr.Tick()
			}
		}
	}
}

func printMedia(w io.Writer, c *client.Client, file string, m *client.Media) {
	// Images and items not yet probed have no duration; none is shown.
	dur := ""
	if m.Duration > 0 {
		dur = fmt.Sprintf("  %.1fs", m.Duration)
	}
	fmt.Fprintf(w, "\n== %s  %s  %s%s\n", file, m.ID, m.Status, dur)
	if m.Status == types.StatusFailed || m.Status == types.StatusSkipped || m.Status == types.StatusRejected {
		fmt.Fprintf(w, "   error: %s\n   cause: %s\n", m.Error, m.Cause)
		return
	}
	if m.Status == types.StatusInReview {
		fmt.Fprintf(w, "   waiting for a reviewer: `landfall reviews show %s`, then approve or reject it there or in the web UI's Review page\n", m.ID)
	}
	if ins := m.Insights; ins != nil {
		fmt.Fprintf(w, "   summary:  %s\n", ins.Summary)
		if len(ins.Chapters) > 0 {
			fmt.Fprintln(w, "   chapters:")
			for _, ch := range ins.Chapters {
				fmt.Fprintf(w, "     %7.1fs  %s\n", ch.StartSeconds, ch.Title)
			}
		}
		fmt.Fprintf(w, "   people: %s | organisations: %s | places: %s\n", strings.Join(ins.Entities.People, ", "),
			strings.Join(ins.Entities.Organisations, ", "), strings.Join(ins.Entities.Places, ", "))
		if len(ins.Topics) > 0 {
			fmt.Fprintf(w, "   topics: %s\n", strings.Join(ins.Topics, ", "))
		}
		if len(ins.OCR) > 0 {
			var texts []string
			for _, o := range ins.OCR {
				texts = append(texts, strings.ReplaceAll(o.Text, "\n", " "))
			}
			fmt.Fprintf(w, "   on screen: %s\n", strings.Join(texts, " | "))
		}
		printVision(w, ins)
	}
	base := strings.TrimRight(c.BaseURL, "/")
	// The item's page in the web UI first, then the JSON and files.
	fmt.Fprintf(w, "   %-16s %s/ui/#/media/%s\n", "page:", base, url.PathEscape(m.ID))
	for _, k := range []string{"self", "transcript_json", "captions_vtt", "captions_srt", "chapters_json", "insights"} {
		if v, ok := m.Links[k]; ok {
			fmt.Fprintf(w, "   %-16s %s%s\n", k+":", base, v)
		}
	}
	if m.Insights != nil && m.Insights.Vision != nil {
		fmt.Fprintf(w, "   %-16s %s/v1/media/%s/labels.json\n", "labels_json:", base, url.PathEscape(m.ID))
	}
}

func oneArg(fs *flag.FlagSet, args []string, what string) (string, error) {
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return "", err
	}
	if len(rest) != 1 {
		return "", UsageError("want exactly one %s", what)
	}
	return rest[0], nil
}

func mediaGet(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "media get")
	mk := clientFlags(env, fs)
	id, err := oneArg(fs, args, "media id")
	if err != nil {
		return err
	}
	m, err := mk().GetMedia(ctx, id)
	if err != nil {
		return err
	}
	return printJSON(env.Stdout, m)
}

func mediaDelete(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "media delete")
	mk := clientFlags(env, fs)
	asJSON := fs.Bool("json", false, "print what was removed as JSON")
	id, err := oneArg(fs, args, "media id")
	if err != nil {
		return err
	}
	d, err := mk().DeleteMedia(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, d)
	}
	fmt.Fprintf(env.Stdout, "deleted media %s: %d object(s), %d work file(s), %d search entries, %d failure(s)", d.ID,
		len(d.Objects), d.WorkFiles, d.SearchEntries, d.Failures)
	if len(d.StoppedExecutions) > 0 {
		fmt.Fprintf(env.Stdout, "; stopped %s", strings.Join(d.StoppedExecutions, ", "))
	}
	fmt.Fprintln(env.Stdout)
	for _, k := range d.Objects {
		fmt.Fprintf(env.Stdout, "  removed %s\n", k)
	}
	return nil
}

func mediaList(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "media list")
	mk := clientFlags(env, fs)
	var p client.ListParams
	fs.StringVar(&p.Status, "status", "", "PENDING, PROCESSING, IN_REVIEW, SUCCEEDED, FAILED, SKIPPED or REJECTED")
	fs.StringVar(&p.Kind, "kind", "", "audio, video or image")
	fs.StringVar(&p.Since, "since", "", "RFC 3339 time or a duration such as 24h")
	fs.StringVar(&p.Until, "until", "", "RFC 3339 time")
	fs.StringVar(&p.Cursor, "cursor", "", "next page cursor")
	fs.IntVar(&p.Limit, "limit", 0, "page size")
	if _, err := ParseFlags(fs, args); err != nil {
		return err
	}
	page, err := mk().ListMedia(ctx, p)
	if err != nil {
		return err
	}
	for _, m := range page.Media {
		fmt.Fprintf(env.Stdout, "%s  %-10s %-6s %s  %s\n", m.ID, m.Status, m.Kind, m.CreatedAt.Format(time.RFC3339), m.Filename)
	}
	if page.Next != "" {
		fmt.Fprintf(env.Stdout, "next: --cursor %s\n", page.Next)
	}
	return nil
}

func mediaSearch(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "media search")
	mk := clientFlags(env, fs)
	limit := fs.Int("limit", 0, "number of hits")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return UsageError("media search: give a query")
	}
	c := mk()
	r, err := c.Search(ctx, strings.Join(rest, " "), *limit)
	if err != nil {
		return err
	}
	// Hits name media ids; show each item's file name, looked up once.
	names := map[string]string{}
	for _, h := range r.Hits {
		if _, ok := names[h.MediaID]; ok {
			continue
		}
		names[h.MediaID] = h.MediaID
		if h.Filename != "" {
			names[h.MediaID] = h.Filename
			continue
		}
		if m, err := c.GetMedia(ctx, h.MediaID); err == nil && m.Filename != "" {
			names[h.MediaID] = m.Filename
		}
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, h := range r.Hits {
		at := ""
		if h.Source != catalog.SourceSummary {
			at = fmtClock(h.Start)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", names[h.MediaID], h.Source, at, h.Snippet, h.MediaID)
	}
	return tw.Flush()
}

// fmtClock formats seconds into a media item as m:ss or h:mm:ss.
func fmtClock(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

func mediaExport(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "media export")
	mk := clientFlags(env, fs)
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return UsageError("media export: want ID NAME")
	}
	return mk().Export(ctx, rest[0], rest[1], env.Stdout)
}

func failuresList(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "failures list")
	mk := clientFlags(env, fs)
	limit := fs.Int("limit", 0, "page size")
	if _, err := ParseFlags(fs, args); err != nil {
		return err
	}
	p, err := mk().Failures(ctx, *limit)
	if err != nil {
		return err
	}
	for _, f := range p.Failures {
		fmt.Fprintf(env.Stdout, "%-5d %s  %s  %-20s %-18s %s\n", f.ID, f.FailedAt.Format(time.RFC3339), f.MediaID, f.ErrorName, f.StateName, f.Cause)
	}
	return nil
}

func failuresRedrive(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "failures redrive")
	mk := clientFlags(env, fs)
	s, err := oneArg(fs, args, "failure id")
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return UsageError("failures redrive: %q is not a failure id", s)
	}
	f, err := mk().Redrive(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "failure %d redriven as %s\n", f.ID, f.RedriveExecutionID)
	return nil
}
