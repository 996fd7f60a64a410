package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/client"
)

func init() {
	for _, c := range []Command{
		{Name: "reviews list", Usage: "[--reason R] [--kind K] [--older-than 2h] [--sort priority|age|due] [--state OPEN|DECIDED|DONE|all] [--json]",
			Summary: "list the review queue with counts per reason", Run: reviewsList},
		{Name: "reviews show", Usage: "MEDIA_ID [--json]", Summary: "show a review item: why it is queued, its claim, its transcript and insights", Run: reviewsShow},
		{Name: "reviews approve", Usage: "MEDIA_ID [--round N] [--reviewer NAME]", Summary: "approve a review item: its execution publishes the reviewed version", Run: reviewsDecide("approved")},
		{Name: "reviews reject", Usage: "MEDIA_ID --reason TEXT [--round N] [--reviewer NAME]", Summary: "reject a review item: it ends REJECTED with the reason", Run: reviewsDecide("rejected")},
	} {
		Register(c)
	}
}

func reviewsList(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "reviews list")
	mk := clientFlags(env, fs)
	var p client.ReviewListParams
	fs.StringVar(&p.Reason, "reason", "", "only items queued for this reason (tenant_policy, low_confidence, moderation, …)")
	fs.StringVar(&p.Kind, "kind", "", "only audio, video or image items")
	fs.DurationVar(&p.OlderThan, "older-than", 0, "only items waiting at least this long")
	fs.StringVar(&p.Sort, "sort", "", "priority (default), age or due")
	fs.StringVar(&p.State, "state", "", "OPEN (default), DECIDED, DONE or all")
	fs.IntVar(&p.Limit, "limit", 0, "at most this many items (default 50)")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return UsageError("reviews list: unexpected argument %q", rest[0])
	}
	out, err := mk().Reviews(ctx, p)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, out)
	}
	if len(out.Reviews) == 0 {
		fmt.Fprintln(env.Stdout, "the review queue is empty")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEDIA\tFILE\tKIND\tWAITING\tPRIORITY\tREASONS\tCLAIMED BY")
	now := time.Now()
	for _, r := range out.Reviews {
		codes := make([]string, len(r.Reasons))
		for i, x := range r.Reasons {
			codes[i] = x.Code
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.MediaID, r.Filename, r.Kind, now.Sub(r.OpenedAt).Round(time.Second),
			r.Priority, strings.Join(codes, ","), dash(r.ClaimedBy))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if out.Counts != nil {
		var parts []string
		for _, k := range sortedCountKeys(out.Counts.ByReason) {
			parts = append(parts, fmt.Sprintf("%s %d", k, out.Counts.ByReason[k]))
		}
		fmt.Fprintf(env.Stdout, "%d open, %d claimed; by reason: %s\n", out.Counts.Open, out.Counts.Claimed, strings.Join(parts, ", "))
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sortedCountKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func reviewsShow(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "reviews show")
	mk := clientFlags(env, fs)
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return UsageError("reviews show: name one media id")
	}
	it, err := mk().Review(ctx, rest[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, it)
	}
	r := it.Review
	fmt.Fprintf(env.Stdout, "%s (%s, %s): %s, round %d, version %d\n", dash(r.Filename), r.MediaID, r.Kind, r.State, r.Round, it.Version)
	for _, x := range r.Reasons {
		fmt.Fprintf(env.Stdout, "  reason: %s — %s\n", x.Code, x.Detail)
	}
	if r.DueAt != nil {
		fmt.Fprintf(env.Stdout, "  due: %s\n", r.DueAt.Local().Format(time.RFC1123))
	}
	if r.ClaimedBy != "" {
		fmt.Fprintf(env.Stdout, "  claimed by %s until %s\n", r.ClaimedBy, r.ClaimExpiresAt.Local().Format(time.Kitchen))
	}
	if r.Decision != nil {
		fmt.Fprintf(env.Stdout, "  decision: %s by %s at %s %s\n", r.Decision.Outcome, r.Decision.Reviewer, r.Decision.At.Local().Format(time.RFC1123), r.Decision.Reason)
	}
	if r.Refusal != "" {
		fmt.Fprintf(env.Stdout, "  last decision refused: %s\n", r.Refusal)
	}
	var doc struct {
		Transcript *struct {
			Text string `json:"text"`
		} `json:"transcript"`
		Insights *struct {
			Summary string `json:"summary"`
		} `json:"insights"`
	}
	_ = json.Unmarshal(it.Document, &doc)
	if doc.Insights != nil && doc.Insights.Summary != "" {
		fmt.Fprintf(env.Stdout, "  summary: %s\n", doc.Insights.Summary)
	}
	if doc.Transcript != nil {
		t := doc.Transcript.Text
		if len(t) > 300 {
			t = t[:300] + "…"
		}
		fmt.Fprintf(env.Stdout, "  transcript: %s\n", t)
	}
	fmt.Fprintf(env.Stdout, "approve with `landfall reviews approve %s`, reject with `landfall reviews reject %s --reason …`; edit in the web UI\n", r.MediaID, r.MediaID)
	return nil
}

func reviewsDecide(outcome string) func(ctx context.Context, env *Env, args []string) error {
	return func(ctx context.Context, env *Env, args []string) error {
		name := "reviews approve"
		if outcome == catalog.OutcomeRejected {
			name = "reviews reject"
		}
		fs := NewFlagSet(env, name)
		mk := clientFlags(env, fs)
		reason := fs.String("reason", "", "why (required to reject)")
		round := fs.Int("round", 0, "the round you reviewed (a later round refuses the decision)")
		reviewer := fs.String("reviewer", "", "your name (open servers; a key names its reviewer)")
		rest, err := ParseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(rest) != 1 {
			return UsageError("%s: name one media id", name)
		}
		if outcome == catalog.OutcomeRejected && strings.TrimSpace(*reason) == "" {
			return UsageError("reviews reject: --reason is required: say why the item is rejected")
		}
		rv, err := mk().Decide(ctx, rest[0], client.ReviewDecision{Outcome: outcome, Reason: *reason, Round: *round, Reviewer: *reviewer})
		if err != nil {
			return err
		}
		what := "approved: the reviewed version is being published"
		if outcome == catalog.OutcomeRejected {
			what = "rejected: the item ends REJECTED"
		}
		if rv.State == catalog.ReviewDecided {
			what += " (the execution resumes shortly)"
		}
		fmt.Fprintf(env.Stdout, "%s %s\n", rv.MediaID, what)
		return nil
	}
}
