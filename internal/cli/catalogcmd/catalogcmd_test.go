package catalogcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
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

func TestExportEnforcementFormats(t *testing.T) {
	for _, tc := range []struct{ format, want, not string }{
		{"nftables", "set outflow_v4 {", "tiktok.com"},
		{"ipset", "create outflow-v4 hash:net family inet", "tiktok.com"},
		{"edl-ip", "71.18.", "#"},
		{"edl-domain", "*.tiktok.com\n", "#"},
		{"suricata", `tls.sni; dotprefix; content:".tiktok.com"; endswith;`, "hik-connect"},
		{"zeek-intel", "tiktok.com\tIntel::DOMAIN\toutflow domain:tiktok.com", "hik-connect"},
		{"stix", `"relationship_type": "attributed-to"`, "hik-connect"},
		// ByteDance's cloud's HTTP-DNS service comes with ByteDance.
		{"adguard", "||httpdns.volcengineapi.com^", "hik-connect"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			code, out, errs := runCmd(t, "export", "--format", tc.format, "--entity", "bytedance")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !strings.Contains(out, tc.want) || strings.Contains(out, tc.not) {
				t.Errorf("output wrong (want %q, not %q):\n%.600s", tc.want, tc.not, out)
			}
		})
	}
}

// Address exports take an entity's own prefixes; a cloud's (which serves
// everyone) only with --include-hosts. The HTTP-DNS service addresses of
// the cloud are its own service, not hosting, and always come.
func TestExportAddressesHostsOnlyOnRequest(t *testing.T) {
	_, own, _ := runCmd(t, "export", "--format", "edl-ip", "--entity", "alibaba-cloud")
	_, all, _ := runCmd(t, "export", "--format", "edl-ip", "--entity", "alibaba-cloud", "--include-hosts")
	if !strings.Contains(own, "203.107.1.65\n") || !strings.Contains(own, "223.5.5.5\n") {
		t.Errorf("HTTP-DNS addresses missing:\n%.300s", own)
	}
	if n, m := strings.Count(own, "\n"), strings.Count(all, "\n"); n > 20 || m < 100 {
		t.Errorf("without --include-hosts %d prefixes, with %d: hosting prefixes must only come on request", n, m)
	}
}

func TestExportBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--format", "pf"}, "unknown format \"pf\"; valid formats: hosts, rpz, adguard, dnsmasq, unbound, nftables, ipset, edl-ip, edl-domain, suricata, zeek-intel, stix"},
		{[]string{"export", "--format", "stix", "--entity", "nobody"}, "no entity \"nobody\"; valid entities: adtiming, alibaba,"},
		{[]string{"export", "--format", "stix", "--list", "nolist"}, "no list \"nolist\"; valid lists: "},
		{[]string{"export", "--format", "nftables", "--entity", "google"}, "has no address prefixes for format nftables: nothing written"},
	} {
		code, out, errs := runCmd(t, tc.args...)
		if code != 1 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.args, code, out, errs, tc.want)
		}
	}
}

// TestExportWholeCatalogLoadsInNft runs nft's own check on the export of
// the whole catalog (tens of thousands of prefixes, merged).
func TestExportWholeCatalogLoadsInNft(t *testing.T) {
	nft, err := exec.LookPath("nft")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nft not installed: CI installs nftables (.ci/run) so that the export is checked by nft itself")
		}
		t.Skip("nft not installed; the nftables package's structure test covers the syntax")
	}
	f := filepath.Join(t.TempDir(), "all.nft")
	if code, _, errs := runCmd(t, "export", "--format", "nftables", "--include-hosts", "-o", f); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	out, err := exec.Command(nft, "-c", "-f", f).CombinedOutput()
	if err != nil && strings.Contains(string(out), "Operation not permitted") {
		t.Skipf("nft -c needs CAP_NET_ADMIN here: %s", out)
	}
	if err != nil {
		t.Fatalf("nft -c -f: %v\n%.2000s", err, out)
	}
}
