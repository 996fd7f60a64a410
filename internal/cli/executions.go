package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/landfall/landfall/apiserver/workflowapi"
	"github.com/landfall/landfall/client"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/workflow"
)

func init() {
	for _, c := range []Command{
		{Name: "executions start", Usage: "STATE_MACHINE [--input JSON|@FILE] [--name N] [--correlation-id ID] [--wait] [--timeout 10m]",
			Summary: "start an execution of a state machine on a server", Run: executionsStart},
		{Name: "executions list", Usage: "[--state-machine SM] [--status S] [--correlation-id ID] [--since 24h] [--limit N]",
			Summary: "list executions newest first", Run: executionsList},
		{Name: "executions describe", Usage: "ARN", Summary: "print one execution", Run: executionsDescribe},
		{Name: "executions history", Usage: "ARN [--reverse] [--limit N] [--json]", Summary: "print an execution's history events", Run: executionsHistory},
		{Name: "executions stop", Usage: "ARN [--error E] [--cause C]", Summary: "stop a running execution", Run: executionsStop},
		{Name: "executions redrive", Usage: "ARN", Summary: "redrive a failed execution from where it failed", Run: executionsRedrive},
	} {
		Register(c)
	}
}

// wfCall calls the workflow REST API of the server c names.
func wfCall(ctx context.Context, c *client.Client, method, path string, q url.Values, body, out any) error {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "landfall server %s", c.BaseURL)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var p workflowapi.Problem
		if json.Unmarshal(b, &p) == nil && p.Code != "" {
			msg := p.Detail
			for _, e := range p.Errors {
				msg += fmt.Sprintf("\n  %s: %s", e.Pointer, e.Message)
			}
			return &errcode.Error{Code: errcode.Code(p.Code), Message: msg}
		}
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}

// exitForCode turns a server error into the command's exit: invalid input
// is exit 2.
func exitForCode(err error) error {
	if errcode.Of(err) == errcode.Invalid {
		return &ExitError{Code: ExitInvalid, Err: err}
	}
	return err
}

func executionsStart(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "executions start")
	mk := clientFlags(env, fs)
	input := fs.String("input", "{}", "execution input: JSON text or @file (@- reads standard input)")
	name := fs.String("name", "", "execution name (unique per state machine; default random)")
	corr := fs.String("correlation-id", "", "correlation id stored with the execution (e.g. a media id)")
	wait := fs.Bool("wait", false, "wait for the execution to end; exit 1 unless it succeeded")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long --wait waits")
	sm, err := oneArg(fs, args, "state machine name or ARN")
	if err != nil {
		return err
	}
	in, err := ReadArg(env, *input)
	if err != nil {
		return err
	}
	if !json.Valid(in) {
		return UsageError("--input is not valid JSON")
	}
	c := mk()
	var x workflow.Execution
	if err := wfCall(ctx, c, http.MethodPost, "/v1/executions", nil, workflowapi.StartExecutionRequest{StateMachine: sm, Name: *name, Input: in, CorrelationID: *corr}, &x); err != nil {
		return exitForCode(err)
	}
	if *wait {
		wctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		for x.Status == workflow.StatusRunning {
			select {
			case <-wctx.Done():
				return fmt.Errorf("execution %s still running after %v", x.ARN, *timeout)
			case <-time.After(200 * time.Millisecond):
			}
			if err := wfCall(wctx, c, http.MethodGet, "/v1/executions/"+x.ARN, nil, nil, &x); err != nil {
				return err
			}
		}
	}
	if err := printJSON(env.Stdout, x); err != nil {
		return err
	}
	if *wait && x.Status != workflow.StatusSucceeded {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("execution %s %s: %s %s", x.Name, x.Status, x.Error, x.Cause)}
	}
	return nil
}

func executionsList(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "executions list")
	mk := clientFlags(env, fs)
	sm := fs.String("state-machine", "", "state machine name or ARN")
	status := fs.String("status", "", "RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED")
	corr := fs.String("correlation-id", "", "only executions with this correlation id")
	since := fs.Duration("since", 0, "only executions started within this long (e.g. 24h)")
	limit := fs.Int("limit", 50, "at most this many")
	asJSON := fs.Bool("json", false, "print JSON")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return UsageError("unexpected argument %q", rest[0])
	}
	q := url.Values{}
	for k, v := range map[string]string{"stateMachine": *sm, "status": strings.ToUpper(*status), "correlationId": *corr} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *since > 0 {
		q.Set("startedAfter", time.Now().Add(-*since).UTC().Format(time.RFC3339Nano))
	}
	q.Set("limit", strconv.Itoa(*limit))
	var page struct {
		Executions []workflow.Execution `json:"executions"`
		NextToken  string               `json:"nextToken"`
	}
	if err := wfCall(ctx, mk(), http.MethodGet, "/v1/executions", q, nil, &page); err != nil {
		return exitForCode(err)
	}
	if *asJSON {
		return printJSON(env.Stdout, page)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tSTATUS\tNAME\tCORRELATION\tERROR\tARN")
	for _, x := range page.Executions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", x.StartDate.Local().Format(time.DateTime), x.Status, x.Name, x.CorrelationID, x.Error, x.ARN)
	}
	return tw.Flush()
}

func executionsDescribe(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "executions describe")
	mk := clientFlags(env, fs)
	arn, err := oneArg(fs, args, "execution ARN")
	if err != nil {
		return err
	}
	var x workflow.Execution
	if err := wfCall(ctx, mk(), http.MethodGet, "/v1/executions/"+arn, nil, nil, &x); err != nil {
		return exitForCode(err)
	}
	return printJSON(env.Stdout, x)
}

func executionsHistory(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "executions history")
	mk := clientFlags(env, fs)
	reverse := fs.Bool("reverse", false, "newest first")
	limit := fs.Int("limit", 0, "at most this many events (default all)")
	asJSON := fs.Bool("json", false, "print JSON")
	arn, err := oneArg(fs, args, "execution ARN")
	if err != nil {
		return err
	}
	c := mk()
	var events []workflow.HistoryEvent
	token := ""
	for {
		q := url.Values{"reverse": {strconv.FormatBool(*reverse)}}
		if token != "" {
			q.Set("nextToken", token)
		}
		var page struct {
			Events    []workflow.HistoryEvent `json:"events"`
			NextToken string                  `json:"nextToken"`
		}
		if err := wfCall(ctx, c, http.MethodGet, "/v1/executions/"+arn+"/history", q, nil, &page); err != nil {
			return exitForCode(err)
		}
		events = append(events, page.Events...)
		if page.NextToken == "" || (*limit > 0 && len(events) >= *limit) {
			break
		}
		token = page.NextToken
	}
	if *limit > 0 && len(events) > *limit {
		events = events[:*limit]
	}
	if *asJSON {
		return printJSON(env.Stdout, events)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREV\tTIME\tTYPE\tDETAILS")
	for _, ev := range events {
		details := string(ev.Details)
		if len(details) > 120 {
			details = details[:117] + "..."
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\n", ev.ID, ev.PreviousID, ev.Timestamp.Local().Format("15:04:05.000"), ev.Type, details)
	}
	return tw.Flush()
}

func executionsStop(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "executions stop")
	mk := clientFlags(env, fs)
	errName := fs.String("error", "", "error name recorded on the execution")
	cause := fs.String("cause", "", "cause recorded on the execution")
	arn, err := oneArg(fs, args, "execution ARN")
	if err != nil {
		return err
	}
	var x workflow.Execution
	if err := wfCall(ctx, mk(), http.MethodPost, "/v1/executions/"+arn+"/stop", nil, map[string]string{"error": *errName, "cause": *cause}, &x); err != nil {
		return exitForCode(err)
	}
	return printJSON(env.Stdout, x)
}

func executionsRedrive(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "executions redrive")
	mk := clientFlags(env, fs)
	arn, err := oneArg(fs, args, "execution ARN")
	if err != nil {
		return err
	}
	var x workflow.Execution
	if err := wfCall(ctx, mk(), http.MethodPost, "/v1/executions/"+arn+"/redrive", nil, nil, &x); err != nil {
		return exitForCode(err)
	}
	return printJSON(env.Stdout, x)
}
