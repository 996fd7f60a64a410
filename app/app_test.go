package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/pipelines"
)

// A data folder provisioned by an earlier release (or configuration) opens
// with a changed pipeline definition: the state machine is updated.
func TestReopenWithChangedDefinition(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := New(ctx, config.Default(dir), Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	a.Close(ctx)
	changed := filepath.Join(t.TempDir(), "media.asl.json")
	def := strings.Replace(string(pipelines.MediaDefinition), `"Comment": "Landfall default media pipeline`, `"Comment": "A customised media pipeline`, 1)
	if err := os.WriteFile(changed, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default(dir)
	cfg.Pipeline.Definition = changed
	b, err := New(ctx, cfg, Options{Logger: log})
	if err != nil {
		t.Fatalf("reopen with a changed definition: %v", err)
	}
	defer b.Close(ctx)
	sm, err := b.Engine.DescribeStateMachine(ctx, pipelines.MediaName)
	if err != nil || !strings.Contains(sm.Definition, "A customised media pipeline") {
		t.Fatalf("definition not updated: %v", err)
	}
}

// An invalid custom definition is refused at start with its located errors.
func TestInvalidDefinitionRefused(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.asl.json")
	os.WriteFile(bad, []byte(`{"StartAt":"Nope","States":{"A":{"Type":"Pass","End":true}}}`), 0o644)
	cfg := config.Default(t.TempDir())
	cfg.Pipeline.Definition = bad
	_, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "/StartAt") {
		t.Fatalf("err = %v", err)
	}
}
