package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeysAndTenantsCommands(t *testing.T) {
	data := t.TempDir()
	must := func(want int, args ...string) (string, string) {
		t.Helper()
		code, out, errs := run(t, "", append(args, "--data", data)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\nstdout %s\nstderr %s", args, code, want, out, errs)
		}
		return out, errs
	}
	must(0, "tenants", "create", "acme")
	out, errs := must(0, "keys", "create", "--tenant", "acme", "--role", "reviewer", "--name", "qa", "--expires", "720h")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "lf_") || !strings.HasPrefix(lines[1], "access_key_id=LFAK") ||
		len(strings.TrimPrefix(lines[2], "secret_access_key=")) != 40 || !strings.Contains(errs, "reviewer key for tenant acme") {
		t.Fatalf("keys create:\n%s\n%s", out, errs)
	}
	id := lines[0][3:19]
	must(0, "keys", "create", "--role", "admin")
	must(2, "keys", "create", "--role", "admin", "--tenant", "acme")
	must(2, "keys", "create", "--role", "reviewer")
	must(2, "keys", "create", "--role", "boss")
	out, _ = must(0, "keys", "list", "--tenant", "acme")
	if !strings.Contains(out, id) || !strings.Contains(out, "reviewer") || !strings.Contains(out, "expires ") || strings.Contains(out, lines[0][20:]) {
		t.Fatalf("keys list:\n%s", out)
	}
	out, _ = must(0, "keys", "rotate", id)
	if !strings.HasPrefix(out, "lf_"+id+"_") || strings.HasPrefix(out, lines[0]) || strings.Contains(out, lines[2]) {
		t.Fatalf("keys rotate:\n%s", out)
	}
	must(0, "keys", "expire", id, "--at", "2030-01-01T00:00:00Z")
	must(2, "keys", "expire", id, "--at", "tomorrow")
	must(0, "keys", "revoke", id)
	out, _ = must(0, "keys", "list")
	if !strings.Contains(out, "revoked ") || !strings.Contains(out, "admin") {
		t.Fatalf("keys list after revoke:\n%s", out)
	}
	must(0, "tenants", "disable", "acme")
	out, _ = must(0, "tenants", "list")
	if !strings.Contains(out, "disabled since") {
		t.Fatalf("tenants list:\n%s", out)
	}
	must(0, "tenants", "enable", "acme")
	must(0, "tenants", "delete", "acme")
	must(1, "tenants", "delete", "acme")
}

func TestServeRefusesAnOpenInstallationBeyondLoopback(t *testing.T) {
	code, _, errs := run(t, "", "serve", "--data", t.TempDir(), "--addr", "0.0.0.0:0")
	if code != ExitInvalid || !strings.Contains(errs, "loopback only") || !strings.Contains(errs, "--open") {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
}

// Keys for a configured tenant can be made before the first start.
func TestKeysCreateForAConfiguredTenant(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "landfall.yaml")
	if err := os.WriteFile(cfg, []byte("data: "+filepath.Join(dir, "not-yet")+"\ntenants:\n  - id: initech\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "", "keys", "create", "--tenant", "initech", "--config", cfg)
	if code != 0 || !strings.HasPrefix(out, "lf_") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := run(t, "", "keys", "create", "--tenant", "other", "--config", cfg); code == 0 || !strings.Contains(errs, "other") {
		t.Fatalf("unconfigured tenant: exit %d %s", code, errs)
	}
}
