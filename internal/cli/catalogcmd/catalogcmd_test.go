package catalogcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/cli"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Log: slog.New(slog.NewTextHandler(&errb, nil)),
		Now: func() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) }}
	code := run(context.Background(), env, args)
	return code, out.String(), errb.String()
}

func TestCheckBuiltin(t *testing.T) {
	code, out, errs := runCmd(t, "check")
	if code != 0 || !strings.HasPrefix(out, "catalog ok:") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}

func TestCheckBrokenNamesFileAndLine(t *testing.T) {
	code, _, errs := runCmd(t, "check", "--catalog-dir", "testdata/broken")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		`testdata/broken/entities/acme.yaml:1: entity acme cites unknown source "no-such-source"`,
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

func TestOrganisationLayer(t *testing.T) {
	code, out, errs := runCmd(t, "lookup", "--json", "--catalog-dir", "testdata/org", "cam.acme-cam.cn")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r lookupResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Entity != "acme" || strings.Join(r.OwnerChain, ",") != "acme,hikvision" || !r.Unverified || len(r.Lists) == 0 {
		t.Fatalf("got %+v", r)
	}
}

func TestLookupJSONFields(t *testing.T) {
	code, out, _ := runCmd(t, "lookup", "www.tiktok.com", "71.18.8.1", "example.org", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want one per indicator:\n%s", len(lines), out)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"indicator", "entity", "owner_chain", "role", "lists", "evidence", "source"} {
		if _, ok := first[k]; !ok {
			t.Errorf("field %s missing: %s", k, lines[0])
		}
	}
	if first["entity"] != "tiktok" || first["role"] != "app-owner" {
		t.Errorf("www.tiktok.com: %v", first)
	}
	var none lookupResult
	json.Unmarshal([]byte(lines[2]), &none)
	if none.Found || none.Entity != "" {
		t.Errorf("example.org: %+v", none)
	}
}

func TestExportFormats(t *testing.T) {
	for _, tc := range []struct{ format, want, not string }{
		{"adguard", "||tiktok.com^", "||hik-connect.com^"},
		{"hosts", "0.0.0.0 tiktok.com", "hik-connect"},
		{"dnsmasq", "address=/tiktok.com/", "hik-connect"},
		{"unbound", `local-zone: "tiktok.com." always_nxdomain`, "hik-connect"},
		{"rpz", "*.tiktok.com CNAME .", "hik-connect"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			code, out, errs := runCmd(t, "export", "--format", tc.format, "--entity", "bytedance")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !strings.Contains(out, tc.want) || strings.Contains(out, tc.not) {
				t.Errorf("output wrong (want %q, not %q):\n%.500s", tc.want, tc.not, out)
			}
		})
	}
	code, out, _ := runCmd(t, "export", "--format", "adguard", "--list", "fcc-covered")
	if code != 0 || !strings.Contains(out, "||hik-connect.com^") || strings.Contains(out, "||tiktok.com^") {
		t.Errorf("--list fcc-covered: exit %d\n%.400s", code, out)
	}
	if code, _, _ := runCmd(t, "export", "--list", "no-such-list"); code != 1 {
		t.Errorf("unknown list: exit %d", code)
	}
}

func TestShowAndLists(t *testing.T) {
	code, out, _ := runCmd(t, "show", "tiktok-us")
	if code != 0 || !strings.Contains(out, "bytedance (19.9% since 2026-01-22") {
		t.Errorf("show tiktok-us: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, "lists")
	if code != 0 || !strings.Contains(out, "fcc-covered") || !strings.Contains(out, "huawei") {
		t.Errorf("lists: exit %d\n%.300s", code, out)
	}
	if code, _, _ := runCmd(t, "show", "nobody"); code != 1 {
		t.Errorf("show unknown: exit %d", code)
	}
}

// The terminal names the entity as every output does: registered and
// controlling jurisdiction together.
func TestLookupNamesJurisdictions(t *testing.T) {
	code, out, _ := runCmd(t, "lookup", "www.tiktok.com")
	if code != 0 || !strings.Contains(out, "tiktok: TikTok Pte. Ltd., SG — controlled from CN") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}
