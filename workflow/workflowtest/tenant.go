package workflowtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/workflow"
)

// tenantMachine runs tasks at the top level, in Parallel branches, in Map
// iterations, after a retry and behind a task token, so every kind of
// Invocation is seen.
const tenantMachine = `{
  "StartAt": "Top",
  "States": {
    "Top": {"Type": "Task", "Resource": "test:tenant:record", "ResultPath": null, "Next": "Flaky"},
    "Flaky": {"Type": "Task", "Resource": "test:tenant:flaky", "ResultPath": null,
      "Retry": [{"ErrorEquals": ["Test.Flaky"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2}], "Next": "Fan"},
    "Fan": {"Type": "Parallel", "ResultPath": null, "Next": "Each", "Branches": [
      {"StartAt": "B0", "States": {"B0": {"Type": "Task", "Resource": "test:tenant:record", "End": true}}},
      {"StartAt": "B1", "States": {"B1": {"Type": "Task", "Resource": "test:tenant:record", "End": true}}}
    ]},
    "Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": null, "Next": "Callback",
      "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Task", "Resource": "test:tenant:record", "End": true}}}},
    "Callback": {"Type": "Task", "Resource": "test:tenant:callback.waitForTaskToken",
      "Parameters": {"token.$": "$$.Task.Token"}, "ResultPath": null, "End": true}
  }
}`

// runTenant checks that an execution's tenant is stored, returned, used
// to filter lists and handed to every task, and that names do not leak
// across tenants.
func runTenant(t *testing.T, setup func(t *testing.T) *bundle) {
	t.Run("TenantIsStoredAndHandedToEveryTask", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var mu sync.Mutex
		seen := map[string][]string{} // execution ARN → "path=tenant" of every invocation
		tokens := make(chan string, 4)
		record := func(inv workflow.Invocation) {
			mu.Lock()
			seen[inv.ExecutionARN] = append(seen[inv.ExecutionARN], fmt.Sprintf("%s#%d=%s", inv.StatePath, inv.Attempt, inv.Tenant))
			mu.Unlock()
		}
		fns := workflow.NewFunctions("test:tenant:")
		fns.Add("record", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			record(inv)
			return json.RawMessage(`{}`), nil
		})
		fns.Add("flaky", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			record(inv)
			if inv.Attempt == 0 {
				return nil, &workflow.TaskError{Name: "Test.Flaky", Cause: "first attempt fails"}
			}
			return json.RawMessage(`{}`), nil
		})
		fns.Add("callback", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			record(inv)
			tokens <- inv.TaskToken
			return nil, nil
		})
		b.res.Register("test:tenant:", fns)
		sm := b.create("tenant", tenantMachine)

		run := func(name, tenant string) *workflow.Execution {
			t.Helper()
			x, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: name,
				Input: json.RawMessage(`{"items": [1, 2, 3]}`), Tenant: tenant})
			if err != nil {
				t.Fatalf("start %s: %v", name, err)
			}
			if x.Tenant != tenant {
				t.Fatalf("start %s returned tenant %q, want %q", name, x.Tenant, tenant)
			}
			token := <-tokens
			got, err := b.e.TaskTenant(b.ctx, token)
			if err != nil || got != tenant {
				t.Fatalf("TaskTenant of %s: %q %v, want %q", name, got, err, tenant)
			}
			if err := b.e.SendTaskSuccess(b.ctx, token, json.RawMessage(`{}`)); err != nil {
				t.Fatal(err)
			}
			done := Wait(t, b.e, x.ARN, 30*time.Second)
			expectStatus(t, done, b.history(x.ARN), workflow.StatusSucceeded)
			if done.Tenant != tenant {
				t.Fatalf("describe %s: tenant %q, want %q", name, done.Tenant, tenant)
			}
			return done
		}
		acme := run("acme-1", "acme")
		globex := run("globex-1", "globex")
		installation := run("installation-1", "")

		for _, x := range []*workflow.Execution{acme, globex, installation} {
			mu.Lock()
			calls := append([]string(nil), seen[x.ARN]...)
			mu.Unlock()
			sort.Strings(calls)
			// Top, Flaky twice, two branches, three items, the callback.
			if len(calls) != 9 {
				t.Fatalf("%s: %d invocations, want 9: %v", x.Name, len(calls), calls)
			}
			for _, c := range calls {
				if !strings.HasSuffix(c, "="+x.Tenant) {
					t.Fatalf("%s: invocation %s does not carry tenant %q (all: %v)", x.Name, c, x.Tenant, calls)
				}
			}
		}

		list, _, err := b.e.ListExecutions(b.ctx, workflow.ListExecutionsParams{Tenant: "acme"})
		if err != nil || len(list) != 1 || list[0].ARN != acme.ARN || list[0].Tenant != "acme" {
			t.Fatalf("list for acme: %+v %v", list, err)
		}
		all, _, err := b.e.ListExecutions(b.ctx, workflow.ListExecutionsParams{StateMachineARN: sm.ARN})
		if err != nil || len(all) != 3 {
			t.Fatalf("list all: %d %v", len(all), err)
		}
		if _, _, err := b.e.ListExecutions(b.ctx, workflow.ListExecutionsParams{Tenant: "Not A Tenant"}); !errors.Is(err, errcode.Invalid) {
			t.Fatalf("list with an invalid tenant: %v, want Invalid", err)
		}

		// Starting again by name is idempotent for the same tenant only:
		// another tenant learns that the name is taken, nothing more.
		again, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "acme-1",
			Input: json.RawMessage(`{"items": [1, 2, 3]}`), Tenant: "acme"})
		if err != nil || again.ARN != acme.ARN || again.Tenant != "acme" {
			t.Fatalf("same tenant restart: %+v %v", again, err)
		}
		_, err = b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "acme-1",
			Input: json.RawMessage(`{"items": [1, 2, 3]}`), Tenant: "globex"})
		if !errors.Is(err, errcode.AlreadyExists) {
			t.Fatalf("other tenant restart: %v, want AlreadyExists", err)
		}
		if strings.Contains(err.Error(), "items") || strings.Contains(err.Error(), "acme") && !strings.Contains(err.Error(), "acme-1") {
			t.Fatalf("conflict message leaks the other execution: %v", err)
		}
		if _, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "acme-1",
			Input: json.RawMessage(`{"items": [1, 2, 3]}`)}); !errors.Is(err, errcode.AlreadyExists) {
			t.Fatalf("installation restart of a tenant's name: %v, want AlreadyExists", err)
		}
		if _, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Tenant: "../etc"}); !errors.Is(err, errcode.Invalid) {
			t.Fatalf("invalid tenant: %v, want Invalid", err)
		}
	})

	t.Run("TenantSurvivesRedriveAndActivities", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var mu sync.Mutex
		var tenants []string
		fail := true
		fns := workflow.NewFunctions("test:redrive-tenant:")
		fns.Add("once", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			mu.Lock()
			defer mu.Unlock()
			tenants = append(tenants, inv.Tenant)
			if fail {
				fail = false
				return nil, &workflow.TaskError{Name: "Test.Once", Cause: "fails the first execution"}
			}
			return json.RawMessage(`{}`), nil
		})
		b.res.Register("test:redrive-tenant:", fns)
		sm := b.create("redrive-tenant", `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "test:redrive-tenant:once", "End": true}}}`)
		x, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "r", Tenant: "initech"})
		if err != nil {
			t.Fatal(err)
		}
		expectStatus(t, Wait(t, b.e, x.ARN, 10*time.Second), b.history(x.ARN), workflow.StatusFailed)
		if _, err := b.e.RedriveExecution(b.ctx, x.ARN); err != nil {
			t.Fatal(err)
		}
		got := Wait(t, b.e, x.ARN, 10*time.Second)
		expectStatus(t, got, b.history(x.ARN), workflow.StatusSucceeded)
		mu.Lock()
		if len(tenants) != 2 || tenants[0] != "initech" || tenants[1] != "initech" {
			t.Fatalf("tenants of the invocations: %q", tenants)
		}
		mu.Unlock()

		act, err := b.e.CreateActivity(b.ctx, "suite-work")
		if err != nil {
			t.Fatal(err)
		}
		asm := b.create("activity", Definition(t, "activity"))
		y, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: asm.ARN, Name: "a", Input: json.RawMessage(`{"n": 1}`), Tenant: "initech"})
		if err != nil {
			t.Fatal(err)
		}
		task, err := b.e.GetActivityTask(b.ctx, act.ARN, "w", 10*time.Second)
		if err != nil || task.Token == "" || task.Tenant != "initech" {
			t.Fatalf("activity task: %+v %v", task, err)
		}
		if tenant, err := b.e.TaskTenant(b.ctx, task.Token); err != nil || tenant != "initech" {
			t.Fatalf("TaskTenant: %q %v", tenant, err)
		}
		if err := b.e.SendTaskSuccess(b.ctx, task.Token, json.RawMessage(`"ok"`)); err != nil {
			t.Fatal(err)
		}
		expectStatus(t, Wait(t, b.e, y.ARN, 10*time.Second), b.history(y.ARN), workflow.StatusSucceeded)
		if _, err := b.e.TaskTenant(b.ctx, "no-such-token"); !errors.Is(err, workflow.ErrTaskDoesNotExist) {
			t.Fatalf("TaskTenant of an unknown token: %v", err)
		}
	})
}
