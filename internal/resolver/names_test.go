package resolver

import (
	"os"
	"testing"

	"github.com/miekg/dns"

	"github.com/outflow-dev/outflow/internal/resolver/querylog"
)

// TestAmbiguousNamesLogged is issue 10's probe: a query whose wire labels
// are [www.tiktok][com] was logged as "www.tiktok.com" with verdict allow,
// indistinguishable from the blocked name. It is logged as dig prints it,
// and the policy does not take it for www.tiktok.com.
func TestAmbiguousNamesLogged(t *testing.T) {
	path := t.TempDir() + "/q.jsonl"
	h := newHarness(t, testPolicy, func(c *Config) { c.QueryLog.Path = path })
	asks := []struct {
		name string // presentation form, as miekg/dns packs it
		want string // as logged
	}{
		{`www\.tiktok.com`, `www\.tiktok.com`},
		{"www.tiktok.com", "www.tiktok.com"},
		{`status\.tiktok.com`, `status\.tiktok.com`}, // not the rule's exception either
		{`a\000b.example`, `a\000b.example`},
		{`x\\y.example`, `x\\y.example`},
		{`Sp\032ace.example`, `sp\032ace.example`},
	}
	for _, a := range asks {
		h.ask(a.name, dns.TypeA)
	}
	h.logged(len(asks))
	h.srv.Close()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []querylog.Record
	if _, err := querylog.Read(f, func(r *querylog.Record) error { recs = append(recs, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(asks) {
		t.Fatalf("%d records, want %d", len(recs), len(asks))
	}
	for i, a := range asks {
		if recs[i].Name != a.want {
			t.Errorf("%s logged as %q, want %q", a.name, recs[i].Name, a.want)
		}
	}
	if recs[0].Verdict == "block" && recs[0].Rule == "tiktok-ban" && recs[0].Reason == "qname" {
		t.Errorf("www\\.tiktok.com was decided as the name www.tiktok.com: %+v", recs[0])
	}
	if recs[1].Verdict != "block" || recs[0].Name == recs[1].Name {
		t.Errorf("the two names are not told apart: %+v / %+v", recs[0], recs[1])
	}
}
