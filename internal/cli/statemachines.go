package cli

import (
	"context"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/landfall/landfall/workflow"
)

func init() {
	Register(Command{Name: "state-machines create", Usage: "NAME FILE|@- [--type STANDARD|EXPRESS]",
		Summary: "create a state machine on a server from an ASL definition file", Run: stateMachinesCreate})
	Register(Command{Name: "state-machines list", Usage: "", Summary: "list the state machines of a server", Run: stateMachinesList})
}

func stateMachinesCreate(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "state-machines create")
	mk := clientFlags(env, fs)
	typ := fs.String("type", "STANDARD", "STANDARD or EXPRESS")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return UsageError("want a name and a definition file")
	}
	file := rest[1]
	if file != "@-" && (len(file) == 0 || file[0] != '@') {
		file = "@" + file
	}
	def, err := ReadArg(env, file)
	if err != nil {
		return err
	}
	var sm workflow.StateMachine
	if err := wfCall(ctx, mk(), http.MethodPost, "/v1/state-machines", nil,
		map[string]any{"name": rest[0], "definition": string(def), "type": *typ}, &sm); err != nil {
		return exitForCode(fmt.Errorf("%s: %w", rest[1], err))
	}
	return printJSON(env.Stdout, map[string]any{"stateMachineArn": sm.ARN, "name": sm.Name, "type": sm.Type,
		"revision": sm.Revision, "creationDate": sm.CreatedAt})
}

func stateMachinesList(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "state-machines list")
	mk := clientFlags(env, fs)
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return UsageError("unexpected argument %q", rest[0])
	}
	var out struct {
		StateMachines []workflow.StateMachine `json:"stateMachines"`
	}
	if err := wfCall(ctx, mk(), http.MethodGet, "/v1/state-machines", nil, nil, &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tREVISION\tUPDATED\tARN")
	for _, sm := range out.StateMachines {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", sm.Name, sm.Type, sm.Revision, sm.UpdatedAt.Local().Format(time.DateTime), sm.ARN)
	}
	return tw.Flush()
}
