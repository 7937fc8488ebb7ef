package policy

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/policy/policytest"
)

var (
	beforeWarning = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	inWarning     = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	afterDeadline = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
)

func loadExample(t testing.TB) (*Policy, *attribute.Attributor) {
	t.Helper()
	p, err := Load("testdata/policy.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	ix := policytest.Index(t)
	if err := p.Check(ix); err != nil {
		t.Fatalf("Check: %v", err)
	}
	return p, attribute.New(ix)
}

func TestDecideNames(t *testing.T) {
	p, at := loadExample(t)
	corp := Client{Addr: netip.MustParseAddr("10.0.0.7")}
	guest := Client{Addr: netip.MustParseAddr("192.168.50.9")}
	drone := Client{Addr: netip.MustParseAddr("10.9.0.4")}
	other := Client{Addr: netip.MustParseAddr("172.16.0.1")}
	tests := []struct {
		name   string
		client Client
		qname  string
		now    time.Time
		want   Action
		rule   string
	}{
		{"owner chain: tiktok under bytedance", corp, "www.TikTok.com.", afterDeadline, Block, "tiktok-ban"},
		{"the entity itself", other, "bytedance.com", afterDeadline, Block, "tiktok-ban"},
		{"minority stake is not in the chain", corp, "www.tiktokusds.com", afterDeadline, Allow, ""},
		{"before the warning period", corp, "tiktok.com", beforeWarning, Allow, ""},
		{"in the warning period: due", corp, "tiktok.com", inWarning, Due, "tiktok-ban"},
		{"except name", corp, "status.tiktok.com", afterDeadline, Allow, ""},
		{"except name covers names below", corp, "eu.status.tiktok.com", afterDeadline, Allow, ""},
		{"except client address", Client{Addr: netip.MustParseAddr("10.1.2.3")}, "tiktok.com", afterDeadline, Allow, ""},
		{"except client name", Client{Addr: netip.MustParseAddr("10.1.2.4"), Name: "legal-review.example.net"}, "tiktok.com", afterDeadline, Allow, ""},
		{"except group by fleet fields", Client{Platform: "android", Owner: "x"}, "tiktok.com", afterDeadline, Allow, ""},
		{"list membership", other, "consumer.huawei.com", beforeWarning, Block, "fcc"},
		{"jurisdiction for its group only", other, "x.aliyuncs.com", afterDeadline, Allow, ""},
		{"jurisdiction, hosted", drone, "x.aliyuncs.com", afterDeadline, Block, "drones-cn"},
		{"monitor by name", other, "shop.acme.example", afterDeadline, Monitor, "watch-acme"},
		{"names file, hosts form, in group", guest, "ads.example.org", afterDeadline, Block, "guest-blocklist"},
		{"names file, adguard form", Client{Addr: netip.MustParseAddr("10.0.0.1"), Name: "guest-dot.example.net"}, "a.tracker.example.net", afterDeadline, Block, "guest-blocklist"},
		{"names file, other group", corp, "blocked.example", afterDeadline, Allow, ""},
		{"label boundary", guest, "notblocked.example", afterDeadline, Allow, ""},
		{"unknown name", corp, "example.org", afterDeadline, Allow, ""},
		{"strictest rule wins", drone, "www.tiktok.com", inWarning, Block, "drones-cn"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := at.Name(attribute.DNSQuery, tc.qname)
			v := p.Decide(tc.client, a, tc.qname, tc.now)
			got := ""
			if v.Rule != nil {
				got = v.Rule.ID
			}
			if v.Action != tc.want || got != tc.rule {
				t.Errorf("Decide(%s) = %v by %q, want %v by %q", tc.qname, v.Action, got, tc.want, tc.rule)
			}
		})
	}
}

func TestDecideAddresses(t *testing.T) {
	p, at := loadExample(t)
	corp := Client{Addr: netip.MustParseAddr("10.0.0.7")}
	drone := Client{Addr: netip.MustParseAddr("10.9.0.4")}
	tests := []struct {
		name   string
		client Client
		addr   string
		want   Action
	}{
		{"app owner's own prefix", corp, "71.18.3.4", Block},
		{"app owner's own v6 prefix", corp, "2001:db8:bd::1", Block},
		{"v4-mapped", corp, "::ffff:71.18.3.4", Block},
		{"a cloud's prefix is not the customer's", corp, "47.74.1.1", Allow},
		{"a cloud's prefix with hosted: true", drone, "47.74.1.1", Block},
		{"unknown address", corp, "192.0.2.1", Allow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := at.Addr(netip.MustParseAddr(tc.addr))
			if v := p.Decide(tc.client, a, "innocent.example", afterDeadline); v.Action != tc.want {
				t.Errorf("Decide(%s) = %v, want %v", tc.addr, v.Action, tc.want)
			}
		})
	}
}

func TestVerdictDetails(t *testing.T) {
	p, at := loadExample(t)
	drone := Client{Addr: netip.MustParseAddr("10.9.0.4")}
	v := p.Decide(drone, at.Name(attribute.DNSQuery, "huawei.com"), "huawei.com", afterDeadline)
	if v.Rule == nil || v.Rule.ID != "fcc" || v.Answer.Mode != Refused {
		t.Fatalf("huawei for a drone: %+v", v)
	}
	v = p.Decide(drone, at.Name(attribute.DNSQuery, "x.aliyuncs.com"), "x.aliyuncs.com", afterDeadline)
	want := Answer{Mode: BlockPage, V4: netip.MustParseAddr("192.0.2.80"), V6: netip.MustParseAddr("2001:db8::80")}
	if v.Answer != want {
		t.Errorf("answer = %+v, want %+v", v.Answer, want)
	}
	v = p.Decide(Client{}, at.Name(attribute.DNSQuery, "tiktok.com"), "tiktok.com", inWarning)
	if !v.Deadline.Equal(time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("deadline = %v", v.Deadline)
	}
	if !strings.Contains(v.Rule.Basis, "Foreign Adversary") {
		t.Errorf("basis = %q", v.Rule.Basis)
	}
}

func TestGroups(t *testing.T) {
	p, _ := loadExample(t)
	tests := []struct {
		client Client
		want   []string
	}{
		{Client{Addr: netip.MustParseAddr("10.9.1.1")}, []string{"corporate", "drones"}},
		{Client{Addr: netip.MustParseAddr("::ffff:10.0.0.1")}, []string{"corporate"}},
		{Client{Addr: netip.MustParseAddr("2001:db8:c0::5")}, []string{"corporate"}},
		{Client{DoHPath: "/dns-query/corp"}, []string{"corporate"}},
		{Client{Tags: []string{"x", "drone"}}, []string{"drones"}},
		{Client{Addr: netip.MustParseAddr("8.8.8.8")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.client.Addr.String()+tc.client.DoHPath, func(t *testing.T) {
			m := p.ClientGroups(tc.client)
			var got []string
			for _, g := range p.Groups {
				if p.In(m, g.Name) {
					got = append(got, g.Name)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			if len(tc.want) > 0 && p.GroupName(m) != tc.want[0] {
				t.Errorf("GroupName = %q, want %q", p.GroupName(m), tc.want[0])
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // substring of the error, with its line
	}{
		{"unknown top key", "rulez: []\n", `p.yaml:1:1: unknown key "rulez" at top level; allowed: allow_empty, bypass, defaults, groups, rules`},
		{"unknown rule key", "rules:\n  - action: block\n    entities: x\n    efective: 2026-01-01T00:00:00Z\n", `p.yaml:4:5: unknown key "efective" in rules[0]; allowed: action, answer, basis,`},
		{"wrong list type", "rules:\n  - action: block\n    entities: {x: y}\n", "p.yaml:3:15: rules[0].entities: expected a string or a list of strings"},
		{"bad action", "rules:\n  - action: deny\n    entities: x\n", `p.yaml:2: rule rule-2: action "deny" is not block or monitor`},
		{"no action", "rules:\n  - entities: x\n", "p.yaml:2: rule rule-2 has no action"},
		{"no target", "rules:\n  - action: block\n", "covers nothing"},
		{"bad cidr", "groups:\n  - name: g\n    addresses: [10.0.0.0/33]\n", `p.yaml:3: group g: "10.0.0.0/33" is not an address or CIDR`},
		{"undefined group", "rules:\n  - action: block\n    entities: x\n    groups: [nope]\n", `p.yaml:4: rule rule-2: group "nope" is not defined`},
		{"bad effective", "rules:\n  - action: block\n    entities: x\n    effective: tomorrow\n", "p.yaml:4: rule rule-2: effective"},
		{"warning without effective", "rules:\n  - action: block\n    entities: x\n    warning: 30d\n", "needs an effective date"},
		{"warning on monitor", "rules:\n  - action: monitor\n    entities: x\n    effective: 2026-01-01T00:00:00Z\n    warning: 3d\n", "for block rules"},
		{"bad answer", "rules:\n  - action: block\n    entities: x\n    answer: drop\n", `p.yaml:4: answer "drop"`},
		{"blockpage without address", "rules:\n  - action: block\n    entities: x\n    answer: blockpage\n", "needs a blockpage address"},
		{"bad jurisdiction", "rules:\n  - action: block\n    jurisdictions: China\n", "not an ISO 3166"},
		{"bad name", "rules:\n  - action: block\n    names: ['*.x.com']\n", "not a domain name"},
		{"missing names file", "rules:\n  - action: block\n    names_file: nope.txt\n", "names_file"},
		{"duplicate rule id", "rules:\n  - {id: a, action: block, entities: x}\n  - {id: a, action: block, entities: y}\n", `p.yaml:3: rule id "a" is used twice`},
		{"group selects nothing", "groups:\n  - name: g\n", "selects no client"},
		{"syntax", "rules: [\n", "p.yaml:"},
		{"wrong type", "rules: 3\n", "p.yaml:1:8: rules: cannot unmarshal !!int `3` into []policy.rawRule"},
		// An empty, truncated or rule-less file would allow everything.
		{"empty file", "", "p.yaml: policy has no rules"},
		{"only a comment", "# rewritten soon\n", "p.yaml: policy has no rules"},
		{"no rules key", "groups:\n  - {name: g, addresses: [10.0.0.0/8]}\n", "p.yaml:1: policy has no rules"},
		{"empty rules", "defaults:\n  answer: refused\nrules: []\n", "p.yaml:3: policy has no rules"},
		{"allow_empty false", "allow_empty: false\n", "policy has no rules"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWith("p.yaml", []byte(tc.yaml), Options{Open: func(string) (io.ReadCloser, error) { return nil, errors.New("no files here") }})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestAllowEmpty(t *testing.T) {
	p, err := Parse("p.yaml", []byte("allow_empty: true\ngroups:\n  - {name: g, addresses: [10.0.0.0/8]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.AllowEmpty || len(p.Rules) != 0 || p.RequireRules() != nil {
		t.Errorf("allow_empty policy: AllowEmpty %v, %d rules, RequireRules %v", p.AllowEmpty, len(p.Rules), p.RequireRules())
	}
	if v := p.Decide(Client{Addr: netip.MustParseAddr("10.0.0.1")}, attribute.Attribution{}, "www.tiktok.com", time.Now()); v.Action != Allow {
		t.Errorf("empty policy decided %v", v.Action)
	}
	q, err := Quick(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.RequireRules(); !errors.Is(err, ErrNoRules) {
		t.Errorf("Quick without targets: RequireRules = %v, want ErrNoRules", err)
	}
	if err := q.RequireRules(); err == nil || !strings.Contains(err.Error(), "--block") {
		t.Errorf("RequireRules does not name the source: %v", err)
	}
}

func TestCheck(t *testing.T) {
	p, err := Parse("p.yaml", []byte("rules:\n  - action: block\n    entities: [bytedance, nosuch]\n  - action: block\n    lists: nolist\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Check(policytest.Index(t))
	var ps catalog.Problems
	if !errors.As(err, &ps) || len(ps) != 2 {
		t.Fatalf("Check = %v, want two problems", err)
	}
	if !strings.Contains(ps[0].Error(), `p.yaml:2: rule rule-2: entity "nosuch"`) {
		t.Errorf("problem = %q", ps[0].Error())
	}
}

func TestQuick(t *testing.T) {
	ix := policytest.Index(t)
	at := attribute.New(ix)
	p, err := Quick(ix, "tiktok-pte", "fcc-covered", "evil.example")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for name, want := range map[string]Action{
		"www.tiktok.com": Block, "bytedance.com": Allow, "huawei.com": Block,
		"a.evil.example": Block, "acme.example": Allow,
	} {
		if v := p.Decide(Client{}, at.Name(attribute.DNSQuery, name), name, now); v.Action != want || (want == Block && v.Answer.Mode != NXDomain) {
			t.Errorf("%s: %v %v, want %v nxdomain", name, v.Action, v.Answer.Mode, want)
		}
	}
	p, err = Quick(ix, "CN")
	if err != nil {
		t.Fatal(err)
	}
	if v := p.Decide(Client{}, at.Name(attribute.DNSQuery, "bytedance.com"), "bytedance.com", now); v.Action != Block {
		t.Errorf("--block CN: bytedance.com %v", v.Action)
	}
	if _, err := Quick(ix, "nosuch"); err == nil {
		t.Error("Quick(nosuch) did not fail")
	}
}

func TestRelevant(t *testing.T) {
	p, at := loadExample(t)
	for name, want := range map[string]bool{"tiktok.com": true, "acme.example": true, "ads.example.org": true, "example.org": false, "tiktokusds.com": false} {
		if got := p.Relevant(at.Name(attribute.DNSAnswer, name), []byte(name)); got != want {
			t.Errorf("Relevant(%s) = %v, want %v", name, got, want)
		}
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	p, at := loadExample(t)
	c := Client{Addr: netip.MustParseAddr("10.9.0.4"), Tags: []string{"drone"}}
	a := at.Name(attribute.DNSQuery, "www.tiktok.com")
	n := testing.AllocsPerRun(100, func() {
		if p.Decide(c, a, "www.tiktok.com", afterDeadline).Action != Block {
			t.Fatal("not blocked")
		}
		p.Decide(c, attribute.Attribution{}, "a.b.c.example.org", afterDeadline)
	})
	if n != 0 {
		t.Errorf("Decide allocates %v times per run", n)
	}
}

func BenchmarkDecide(b *testing.B) {
	p, at := loadExample(b)
	c := Client{Addr: netip.MustParseAddr("10.0.0.7")}
	m := p.ClientGroups(c)
	blocked := at.Name(attribute.DNSQuery, "www.tiktok.com")
	b.Run("blocked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.DecideFor(m, blocked, []byte("www.tiktok.com"), afterDeadline)
		}
	})
	b.Run("unknown", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.DecideFor(m, attribute.Attribution{}, []byte("www.example.org"), afterDeadline)
		}
	})
	b.Run("groups+decide", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Decide(c, blocked, "www.tiktok.com", afterDeadline)
		}
	})
}

func TestDecideAnswerQuestionExceptions(t *testing.T) {
	p, at := loadExample(t)
	corp := p.ClientGroups(Client{Addr: netip.MustParseAddr("10.0.0.7")})
	cdn := at.Name(attribute.DNSAnswer, "status.tiktokcdn.com")
	if v := p.DecideAnswer(corp, cdn, []byte("status.tiktokcdn.com"), []byte("status.tiktok.com"), afterDeadline); v.Action != Allow {
		t.Errorf("CNAME of an excepted question: %v", v.Action)
	}
	if v := p.DecideAnswer(corp, cdn, []byte("status.tiktokcdn.com"), []byte("innocent.example"), afterDeadline); v.Action != Block {
		t.Errorf("CNAME of an innocent question: %v", v.Action)
	}
	addr := at.Addr(netip.MustParseAddr("71.18.1.1"))
	if v := p.DecideAnswer(corp, addr, nil, []byte("innocent.example"), afterDeadline); v.Action != Block {
		t.Errorf("address of an innocent question: %v", v.Action)
	}
}

func TestNameSet(t *testing.T) {
	s := newNameSet(0)
	for i := 0; i < 5000; i++ {
		name := []byte("n" + strconv.Itoa(i) + ".example")
		s.add(name, func(old uint16, had bool) uint16 {
			if had {
				t.Fatalf("%s already present", name)
			}
			return uint16(i % 7)
		})
	}
	s.add([]byte("n42.example"), func(old uint16, had bool) uint16 {
		if !had || old != 0 {
			t.Errorf("re-add: old %d had %v", old, had)
		}
		return 99
	})
	// Looked up while building (the table) and after freezing (the
	// sorted arrays), the answers are the same.
	check := func(when string) {
		t.Helper()
		for i := 0; i < 5000; i++ {
			v, ok := s.lookup([]byte("n" + strconv.Itoa(i) + ".example"))
			want := uint16(i % 7)
			if i == 42 {
				want = 99
			}
			if !ok || v != want {
				t.Fatalf("%s: n%d: %d %v", when, i, v, ok)
			}
			if _, ok := s.lookup([]byte("m" + strconv.Itoa(i) + ".example")); ok {
				t.Fatalf("%s: m%d found", when, i)
			}
		}
	}
	check("building")
	s.freeze()
	if s.Len() != 5000 || len(s.fps) != 5000 || !slices.IsSorted(s.fps) || s.fps[0] == 0 {
		t.Fatalf("frozen: len %d, %d fingerprints, sorted %v", s.Len(), len(s.fps), slices.IsSorted(s.fps))
	}
	if got := s.Bytes(); got > 5000*10+4*(5000/runLen*2+1) {
		t.Errorf("frozen set holds %d bytes", got)
	}
	check("frozen")
	empty := newNameSet(0)
	empty.freeze()
	if _, ok := empty.lookup([]byte("n1.example")); ok {
		t.Error("empty set found a name")
	}
}

func TestNamesLine(t *testing.T) {
	for in, want := range map[string]string{
		"a.example": "a.example", "  0.0.0.0\tb.example  # c": "b.example", "||c.example^": "c.example",
		"! comment": "", "127.0.0.1 d.example e.example": "d.example", "": "",
	} {
		if got := string(namesLine([]byte(in))); got != want {
			t.Errorf("namesLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkLoadMillionNames(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	for i := 0; i < 1_000_000; i++ {
		sb.WriteString("n" + strconv.Itoa(i) + ".blocked" + strconv.Itoa(i%997) + ".test\n")
	}
	os.WriteFile(dir+"/names.txt", []byte(sb.String()), 0o644)
	os.WriteFile(dir+"/p.yaml", []byte("rules:\n  - action: block\n    names_file: names.txt\n"), 0o644)
	b.ReportAllocs()
	for b.Loop() {
		p, err := Load(dir + "/p.yaml")
		if err != nil || p.NameCount() != 1_000_000 {
			b.Fatal(err)
		}
		b.ReportMetric(float64(p.ruleNames.Bytes())/1e6, "MB-table")
	}
}

// BenchmarkNameSetMillion looks up names in a frozen set of a million, far
// larger than the CPU's caches: what a resolver with a big block list does
// for every label suffix of every question.
func BenchmarkNameSetMillion(b *testing.B) {
	s := newNameSet(1_000_000)
	for i := 0; i < 1_000_000; i++ {
		s.add([]byte("n"+strconv.Itoa(i)+".blocked.test"), func(uint16, bool) uint16 { return 1 })
	}
	s.freeze()
	names := make([][]byte, 1<<20)
	for _, c := range []struct {
		name, prefix string
	}{{"present", "n"}, {"absent", "m"}} {
		for i := range names {
			names[i] = []byte(c.prefix + strconv.Itoa(i*7919%1_000_000) + ".blocked.test")
		}
		b.Run(c.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				_, ok := s.lookup(names[i&(1<<20-1)])
				if ok != (c.name == "present") {
					b.Fatal("wrong answer")
				}
				i++
			}
		})
	}
}

// TestExceptionUntil: an exception with an expiry exempts until then,
// and the rule applies after it.
func TestExceptionUntil(t *testing.T) {
	src := `groups:
  - name: lab
    addresses: [10.0.0.0/24]
rules:
  - id: no-example
    action: block
    names: example.com
    except:
      clients: [10.0.0.7]
      names: [help.example.com]
      until: 2026-06-01
`
	p, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	before, after := time.Date(2026, 5, 31, 23, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	exempt := Client{Addr: netip.MustParseAddr("10.0.0.7")}
	other := Client{Addr: netip.MustParseAddr("10.0.0.8")}
	for _, tc := range []struct {
		c    Client
		name string
		at   time.Time
		want Action
	}{
		{exempt, "www.example.com", before, Allow},
		{exempt, "www.example.com", after, Block},
		{other, "www.example.com", before, Block},
		{other, "help.example.com", before, Allow},
		{other, "help.example.com", after, Block},
	} {
		if got := p.Decide(tc.c, attribute.Attribution{}, tc.name, tc.at).Action; got != tc.want {
			t.Errorf("%v %s at %s: %v, want %v", tc.c.Addr, tc.name, tc.at, got, tc.want)
		}
	}
	for _, bad := range []struct{ src, want string }{
		{strings.Replace(src, "2026-06-01", "soon", 1), "p.yaml:11: rule no-example: except.until:"},
		{"rules:\n  - id: r\n    action: block\n    names: example.com\n    except:\n      until: 2026-06-01\n", "p.yaml:6: rule r: except.until without"},
	} {
		if _, err := Parse("p.yaml", []byte(bad.src)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v, want %q", err, bad.want)
		}
	}
}
