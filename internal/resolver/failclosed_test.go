package resolver

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/policy/policytest"
	"github.com/outflow-dev/outflow/internal/resolver/upstream"
)

// waitMetric polls the metrics page until it holds line. The bound is
// generous: under the race detector, with every package's tests running
// beside it on two cores, a reload (a catalog load) has taken over 10 s.
func (h *harness) waitMetric(line string) {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(h.scrape(), line+"\n") {
		if time.Now().After(deadline) {
			h.t.Fatalf("metrics never showed %q", line)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitCount polls the metrics page until the counter series (its name and
// labels, as printed) reaches at least min. After os.WriteFile (truncate,
// then write) a watch tick may catch the file empty or half written and
// reload once more than the test wrote, which is right; waiting for an
// exact count would then wait for a value that came and went.
func (h *harness) waitCount(series string, min float64) {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, l := range strings.Split(h.scrape(), "\n") {
			if v, ok := strings.CutPrefix(l, series+" "); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= min {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("metrics never showed %s at %v or more", series, min)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEmptyPolicyFailsClosed is issue 10's probe: the policy file of a
// running resolver is truncated (no SIGHUP), then half rewritten. Each is
// refused by the file watch, logged and counted, and the last good policy
// keeps blocking; the completed file is then loaded. A policy without
// rules runs only when it says allow_empty: true.
func TestEmptyPolicyFailsClosed(t *testing.T) {
	h := newHarness(t, testPolicy, func(c *Config) { c.Reload.Watch = 20 * time.Millisecond })
	h.waitMetric(`outflow_resolver_reloads_total{result="failed"} 0`)
	h.waitMetric(`outflow_resolver_reload_refused 0`)
	blocked := func(when string) {
		t.Helper()
		if r := h.ask("www.tiktok.com", dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Fatalf("%s: www.tiktok.com %s, want NXDOMAIN", when, dns.RcodeToString[r.Rcode])
		}
	}
	blocked("at start")

	if err := os.Truncate(h.policyPath, 0); err != nil {
		t.Fatal(err)
	}
	h.waitMetric(`outflow_resolver_reloads_total{result="failed"} 1`)
	h.waitMetric(`outflow_resolver_reload_refused 1`)
	blocked("after the policy file was emptied")
	if !strings.Contains(h.log.String(), "reload refused") || !strings.Contains(h.log.String(), "policy has no rules") {
		t.Errorf("the refusal is not logged with its reason:\n%s", h.log.String())
	}
	// Nothing changed on disk: the watch does not retry on every tick.
	time.Sleep(100 * time.Millisecond)
	h.waitMetric(`outflow_resolver_reloads_total{result="failed"} 1`)

	// A writer caught half-way: a parse error, refused the same way.
	half := testPolicy[:strings.Index(testPolicy, "    basis: test")+len("    bas")]
	if err := os.WriteFile(h.policyPath, []byte(half), 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitCount(`outflow_resolver_reloads_total{result="failed"}`, 2)
	blocked("after a half-written policy")
	if g := h.srv.state.Load().gen; g != 1 {
		t.Errorf("generation %d after refused reloads, want 1", g)
	}

	// The writer finishes: the watch loads it.
	if err := os.WriteFile(h.policyPath, []byte(testPolicy+"  - id: new\n    action: block\n    names: [plain.example]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitCount(`outflow_resolver_reloads_total{result="ok"}`, 1)
	h.waitMetric(`outflow_resolver_reload_refused 0`)
	blocked("after the completed policy")
	if r := h.ask("plain.example", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("completed policy not in force: plain.example %s", dns.RcodeToString[r.Rcode])
	}

	// The SIGHUP path (Reload) refuses an empty file too.
	os.WriteFile(h.policyPath, []byte("# to be written\n"), 0o644)
	if err := h.srv.Reload(); err == nil || !strings.Contains(err.Error(), "policy has no rules") {
		t.Errorf("Reload of a comment-only policy: %v", err)
	}
	blocked("after Reload of a rule-less file")

	// Meant: allow_empty runs a policy that blocks nothing.
	os.WriteFile(h.policyPath, []byte("allow_empty: true\n"), 0o644)
	if err := h.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if r := h.ask("www.tiktok.com", dns.TypeA); r.Rcode != dns.RcodeSuccess {
		t.Errorf("allow_empty: www.tiktok.com %s, want NOERROR", dns.RcodeToString[r.Rcode])
	}
}

// TestEmptyPolicyAtStart: New refuses an empty policy file and a block
// list without targets.
func TestEmptyPolicyAtStart(t *testing.T) {
	load := func(time.Time) (*catalog.Index, error) { return policytest.Compile() }
	empty := t.TempDir() + "/empty.yaml"
	os.WriteFile(empty, nil, 0o644)
	for name, mutate := range map[string]func(*Config){
		"empty file":         func(c *Config) { c.Policy = empty },
		"no --block targets": func(c *Config) { c.Policy, c.Block = "", nil },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Listen.UDP = []string{"127.0.0.1:0"}
			cfg.Upstream.Servers = []upstream.Server{{Address: "127.0.0.1:53"}} // New dials nothing
			mutate(&cfg)
			if _, err := New(cfg, Deps{LoadCatalog: load}); err == nil || !strings.Contains(err.Error(), "policy has no rules") {
				t.Errorf("New: %v, want a refusal of the rule-less policy", err)
			}
		})
	}
}
