package workflow_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/landfall/landfall/workflow"
	"github.com/landfall/landfall/workflow/workflowtest"
)

// TestQueues: on both drivers, concurrent receivers share the messages
// without receiving one twice while it is in flight, and a message not
// deleted comes back after its visibility timeout.
func TestQueues(t *testing.T) {
	t.Parallel()
	for name, db := range map[string]func(testing.TB) string{"sqlite": workflowtest.SQLite, "postgres": workflowtest.Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := workflowtest.StartEngine(t, workflowtest.Config(db(t), nil))
			ctx := context.Background()
			u, err := e.CreateQueue(ctx, "work", map[string]string{"VisibilityTimeout": "60"})
			if err != nil {
				t.Fatal(err)
			}
			const n = 40
			for i := range n {
				if _, _, err := e.SendMessage(ctx, workflow.SendMessageParams{QueueURL: u, Body: fmt.Sprint(i), DelaySeconds: -1}); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			seen := map[string]int{}
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						msgs, err := e.ReceiveMessages(ctx, workflow.ReceiveParams{QueueURL: u, Max: 3, VisibilityTimeout: -1, WaitSeconds: 0})
						if err != nil {
							t.Error(err)
							return
						}
						if len(msgs) == 0 {
							return
						}
						mu.Lock()
						for _, m := range msgs {
							seen[m.Body]++
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(seen) != n {
				t.Fatalf("%d distinct messages received, want %d", len(seen), n)
			}
			for body, c := range seen {
				if c != 1 {
					t.Fatalf("message %s received %d times while in flight", body, c)
				}
			}
			// One message, received with a 0 s visibility, is visible again
			// at once; deleting it by its latest receipt removes it.
			u2, _ := e.CreateQueue(ctx, "again", nil)
			if _, _, err := e.SendMessage(ctx, workflow.SendMessageParams{QueueURL: u2, Body: "x", DelaySeconds: 0}); err != nil {
				t.Fatal(err)
			}
			first, err := e.ReceiveMessages(ctx, workflow.ReceiveParams{QueueURL: u2, Max: 1, VisibilityTimeout: 0, WaitSeconds: 1})
			if err != nil || len(first) != 1 {
				t.Fatalf("first receive: %v %v", first, err)
			}
			second, err := e.ReceiveMessages(ctx, workflow.ReceiveParams{QueueURL: u2, Max: 1, VisibilityTimeout: 30, WaitSeconds: 1})
			if err != nil || len(second) != 1 || second[0].Attributes["ApproximateReceiveCount"] != "2" {
				t.Fatalf("second receive: %v %v", second, err)
			}
			if err := e.DeleteMessage(ctx, u2, second[0].ReceiptHandle); err != nil {
				t.Fatal(err)
			}
			attrs, err := e.QueueAttributes(ctx, u2)
			if err != nil || attrs["ApproximateNumberOfMessages"] != "0" || attrs["ApproximateNumberOfMessagesNotVisible"] != "0" {
				t.Fatalf("after delete: %v %v", attrs, err)
			}
		})
	}
}
