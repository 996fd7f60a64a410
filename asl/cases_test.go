package asl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/asl/asltest"
	"github.com/landfall/landfall/asl/expr"
)

// ownCase is one case of testdata/cases/*.json: a definition run in memory
// under a virtual clock with scripted task mocks.
type ownCase struct {
	Name       string `json:"name"`
	Definition any    `json:"definition"`
	Input      any    `json:"input"`
	Mocks      any    `json:"mocks"`
	Objects    []struct {
		Bucket, Key, Body string
	} `json:"objects"`
	// Random is a constant jitter source.
	Random *float64 `json:"random"`
	// MaxConcurrency is the runner's cap.
	MaxConcurrency int            `json:"maxConcurrency"`
	Expected       map[string]any `json:"expected"`
	// ElapsedSeconds is the execution's virtual duration.
	ElapsedSeconds *float64 `json:"elapsedSeconds"`
	// Retries lists every retry in order (nil: not checked).
	Retries []struct {
		State        string  `json:"state"`
		Attempt      int     `json:"attempt"`
		DelaySeconds float64 `json:"delaySeconds"`
	} `json:"retries"`
	// Entered lists the top-level states entered, in order.
	Entered []string `json:"entered"`
	// EnteredAt maps "path/State" to the virtual second it was first
	// entered.
	EnteredAt map[string]float64 `json:"enteredAt"`
	// Calls maps a mock key to how many times it ran.
	Calls map[string]int `json:"calls"`
	// Written maps "bucket/key" to the JSON a ResultWriter stored there.
	Written map[string]any `json:"written"`
}

// TestCases runs every case of testdata/cases, once in memory and once
// reloading frames from JSON before each step.
func TestCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "cases", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no case files: %v", err)
	}
	total := 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		var cases []ownCase
		if err := dec.Decode(&cases); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, c := range cases {
			total++
			for _, reload := range []bool{false, true} {
				name := filepath.Base(file) + "/" + c.Name
				if reload {
					name += "/reloaded"
				}
				t.Run(name, func(t *testing.T) { runOwnCase(t, c, reload) })
			}
		}
	}
	t.Logf("%d cases in %d files", total, len(files))
}

func runOwnCase(t *testing.T, c ownCase, reload bool) {
	raw, _ := json.Marshal(c.Definition)
	m, err := asl.Parse(raw, asl.ParseOptions{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := asl.NewVirtualClock(start)
	var mu sync.Mutex
	var retries []string
	var entered []string
	enteredAt := map[string]float64{}
	opts := asl.RunOptions{Clock: clock, ReloadFrames: reload, MaxConcurrency: c.MaxConcurrency,
		Trace: func(e asl.TraceEvent) {
			mu.Lock()
			defer mu.Unlock()
			key := strings.TrimPrefix(e.Path+"/"+e.State, "/")
			switch e.Event {
			case "retry":
				retries = append(retries, fmt.Sprintf("%s#%d+%gs", key, e.Attempt, e.Delay.Seconds()))
			case "entered":
				if e.Path == "" {
					entered = append(entered, e.State)
				}
				if _, seen := enteredAt[key]; !seen {
					enteredAt[key] = e.Time.Sub(start).Seconds()
				}
			}
		}}
	var mocks *asltest.Mocks
	if c.Mocks != nil {
		mraw, _ := json.Marshal(c.Mocks)
		mocks, err = asltest.ParseMocks(mraw)
		if err != nil {
			t.Fatal(err)
		}
		opts.Tasks = mocks
	}
	bucket := &asltest.Bucket{}
	for _, o := range c.Objects {
		bucket.Put(o.Bucket, o.Key, o.Body)
	}
	opts.ItemReader, opts.ResultWriter = bucket, bucket
	if c.Random != nil {
		r := *c.Random
		opts.Random = func() float64 { return r }
	}
	input := c.Input
	if input == nil {
		input = map[string]any{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := asl.Run(ctx, m, input, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if want, ok := c.Expected["output"]; ok {
		if res.Status != "SUCCEEDED" {
			t.Fatalf("got %s %s: %s; want output %s", res.Status, res.Error, res.Cause, expr.MarshalString(want))
		}
		if !expr.Equal(res.Output, want) {
			t.Errorf("output %s\nwant   %s", expr.MarshalString(res.Output), expr.MarshalString(want))
		}
	} else {
		if res.Status != "FAILED" {
			t.Fatalf("got SUCCEEDED with %s; want error %v", expr.MarshalString(res.Output), c.Expected["error"])
		}
		if want, _ := c.Expected["error"].(string); res.Error != want {
			t.Errorf("error %q, want %q (cause %q)", res.Error, want, res.Cause)
		}
		if want, ok := c.Expected["cause"].(string); ok && res.Cause != want {
			t.Errorf("cause %q\nwant  %q", res.Cause, want)
		}
	}
	if c.Retries != nil {
		var want []string
		for _, r := range c.Retries {
			want = append(want, fmt.Sprintf("%s#%d+%gs", r.State, r.Attempt, r.DelaySeconds))
		}
		if strings.Join(retries, " ") != strings.Join(want, " ") {
			t.Errorf("retries %v, want %v", retries, want)
		}
	}
	if c.ElapsedSeconds != nil {
		if got := clock.Now().Sub(start).Seconds(); math.Abs(got-*c.ElapsedSeconds) > 1e-6 {
			t.Errorf("virtual time elapsed %gs, want %gs", got, *c.ElapsedSeconds)
		}
	}
	if c.Entered != nil && strings.Join(entered, " ") != strings.Join(c.Entered, " ") {
		t.Errorf("entered %v, want %v", entered, c.Entered)
	}
	for k, want := range c.EnteredAt {
		got, ok := enteredAt[k]
		if !ok {
			t.Errorf("%s was never entered (entered: %v)", k, enteredAt)
		} else if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s entered at +%gs, want +%gs", k, got, want)
		}
	}
	for k, want := range c.Written {
		body, ok := bucket.Objects[k]
		if !ok {
			t.Errorf("nothing written at %s", k)
			continue
		}
		got, err := expr.Decode([]byte(body))
		if err != nil || !expr.Equal(got, want) {
			t.Errorf("%s holds %s\nwant %s", k, body, expr.MarshalString(want))
		}
	}
	for k, want := range c.Calls {
		if got := mocks.Calls(k); got != want {
			t.Errorf("mock %s ran %d times, want %d", k, got, want)
		}
	}
}
