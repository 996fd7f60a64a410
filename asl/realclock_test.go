package asl_test

import (
	"context"
	"testing"
	"time"

	"github.com/landfall/landfall/asl"
)

// TestRealClockHeartbeat checks that on the wall clock a task that stops
// heartbeating is failed when its heartbeat is overdue, without waiting
// for the task to return.
func TestRealClockHeartbeat(t *testing.T) {
	m := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","HeartbeatSeconds":1,"End":true}}}`)
	handler := asl.TaskHandlerFunc(func(ctx context.Context, req *asl.TaskRequest) (any, error) {
		req.Heartbeat()
		select {
		case <-ctx.Done(): // stopped by the heartbeat watchdog
			return nil, ctx.Err()
		case <-time.After(30 * time.Second):
			return "too late", nil
		}
	})
	start := time.Now()
	res, err := asl.Run(context.Background(), m, map[string]any{}, asl.RunOptions{Tasks: handler, Clock: asl.RealClock{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != asl.ErrHeartbeatTimeout {
		t.Fatalf("result %+v, want States.HeartbeatTimeout", res)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("the watchdog did not stop the task")
	}
}

// TestRealClockExecutionTimeout checks that the machine's TimeoutSeconds
// ends a wall-clock execution inside a long Wait.
func TestRealClockExecutionTimeout(t *testing.T) {
	m := mustParse(t, `{"TimeoutSeconds":1,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`)
	res, err := asl.Run(context.Background(), m, map[string]any{}, asl.RunOptions{Clock: asl.RealClock{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "FAILED" || res.Error != asl.ErrTimeout {
		t.Fatalf("result %+v, want States.Timeout", res)
	}
}
