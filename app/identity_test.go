package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
)

// Tenants dropped from the configuration are disabled at the next start
// (their keys stop working) and enabled again when they come back.
func TestProvisionFollowsConfiguredTenants(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func(tenants ...string) *App {
		t.Helper()
		cfg := config.Default(dir)
		for _, id := range tenants {
			cfg.Tenants = append(cfg.Tenants, config.Tenant{ID: id})
		}
		a, err := New(ctx, cfg, Options{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := open("acme", "globex")
	key, err := a.Catalog.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "globex"})
	if err != nil {
		t.Fatal(err)
	}
	a.Close(ctx)

	a = open("acme")
	g, err := a.Catalog.TenantGet(ctx, &catalog.TenantGetParams{ID: "globex"})
	if err != nil || g.DisabledAt == nil {
		t.Fatalf("globex after removal from the configuration: %+v %v", g, err)
	}
	if _, err := a.API.Authenticator().Bearer(ctx, key.Key); err == nil {
		t.Fatal("a removed tenant's key still authenticates")
	}
	a.Close(ctx)

	a = open("acme", "globex")
	defer a.Close(ctx)
	if p, err := a.API.Authenticator().Bearer(ctx, key.Key); err != nil || p.Tenant != "globex" {
		t.Fatalf("key after the tenant came back: %v %v", p, err)
	}
	// The installation secret was created once, private to its owner.
	fi, err := os.Stat(filepath.Join(dir, "installation.secret"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("installation secret: %v %v", fi, err)
	}
}

// An open installation serves on loopback only, unless open: true.
func TestOpenInstallationBindsToLoopback(t *testing.T) {
	ctx := context.Background()
	var logs strings.Builder
	cfg := config.Default(t.TempDir())
	a, err := New(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	any4 := &net.TCPAddr{IP: net.IPv4zero, Port: 8080}
	if err := a.CheckBinding(&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}); err != nil {
		t.Fatalf("loopback: %v", err)
	}
	err = a.CheckBinding(any4)
	if !errors.Is(err, ErrOpenBeyondLoopback) || !strings.Contains(err.Error(), "open: true") {
		t.Fatalf("0.0.0.0 without open: %v", err)
	}
	cfg.Open = true
	if err := a.CheckBinding(any4); err != nil || !strings.Contains(logs.String(), "anyone who can reach 0.0.0.0:8080 can read and change everything") {
		t.Fatalf("open: %v; logs %s", err, logs.String())
	}
	cfg.Open = false
	cfg.Tenants = []config.Tenant{{ID: "acme"}}
	if err := a.CheckBinding(any4); err != nil {
		t.Fatalf("with tenants: %v", err)
	}
}
