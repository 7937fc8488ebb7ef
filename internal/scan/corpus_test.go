package scan

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

func sharedPcaps(t testing.TB) string {
	t.Helper()
	return sharedtest.Path(t, "pcap")
}

var testAt = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func openCatalog(t testing.TB) *catalog.Index {
	t.Helper()
	ix, err := catalog.Open(testAt)
	if err != nil {
		t.Fatalf("built-in catalog: %v", err)
	}
	return ix
}

// scanFiles scans captures with --all, so that every flow is listed.
func scanFiles(t testing.TB, ix *catalog.Index, files ...string) *Report {
	t.Helper()
	cfg := DefaultConfig()
	cfg.All = true
	cfg.Flow.Interesting = func(n string) bool { return ix.LookupDomain(n) != nil }
	s := New(cfg, attribute.New(ix))
	for _, f := range files {
		if err := s.ReadFile(context.Background(), f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return s.Finish(testAt)
}

// ndpiFlow is one flow line of ndpiReader's output.
type ndpiFlow struct {
	proto, a, b, app string
	pkts, bytes      uint64
}

var ndpiLine = regexp.MustCompile(`^\s*\d+\s+(TCP|UDP)\s+(\S+)\s+<?->\s+(\S+)\s+\[proto: [0-9.]+/([^\]]+)\].*?\[(\d+) pkts/(\d+) bytes <?-> (\d+) pkts/(\d+) bytes\]`)

func readNDPI(t *testing.T, name string) []ndpiFlow {
	f, err := os.Open(sharedtest.Path(t, "pcap", "ndpi-expected", name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []ndpiFlow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := ndpiLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		p1, _ := strconv.ParseUint(m[5], 10, 64)
		b1, _ := strconv.ParseUint(m[6], 10, 64)
		p2, _ := strconv.ParseUint(m[7], 10, 64)
		b2, _ := strconv.ParseUint(m[8], 10, 64)
		out = append(out, ndpiFlow{proto: strings.ToLower(m[1]), a: m[2], b: m[3], app: m[4], pkts: p1 + p2, bytes: b1 + b2})
	}
	return out
}

func pairKey(proto, a, b string) string {
	if a > b {
		a, b = b, a
	}
	return proto + " " + a + " " + b
}

// ourFlows indexes the scan's flow lines by their endpoints; several flows
// on the same endpoints (port reuse) are summed, as nDPI and tshark do.
func ourFlows(r *Report) map[string]*FlowLine {
	m := map[string]*FlowLine{}
	for _, d := range r.Devices {
		for i := range d.Flows {
			f := d.Flows[i]
			k := pairKey(f.Proto, f.Device, f.Peer)
			if prev := m[k]; prev != nil {
				addCounts(&prev.Counts, f.Counts)
				if prev.Entity == "" {
					prev.Entity = f.Entity
				}
				continue
			}
			m[k] = &f
		}
	}
	return m
}

// company says which catalogued company an nDPI protocol belongs to, and
// what the attribution may fall back to, with the reason.
var company = map[string]struct {
	want     string // an id that must be in the flow's owner chain
	fallback string // accepted instead, when the capture cannot show more
	why      string
}{
	"WeChat":       {want: "tencent"},
	"QQ":           {want: "tencent"},
	"OICQ":         {want: "tencent", fallback: "china-telecom", why: "legacy QQ over UDP, no name: the server sits in China Telecom's address space, which is all an address can tell"},
	"TencentGames": {want: "tencent"},
	"CoD_Mobile":   {want: "tencent", fallback: "-", why: "a UDP game stream with no name, to an address in no catalogued AS (the TLS flow names codmwest.com)"},
	"Alibaba":      {want: "alibaba"},
	"AliCloud":     {want: "alibaba"},
	"DingTalk":     {want: "alibaba"},
	"NetEaseGames": {want: "netease", fallback: "-", why: "proprietary UDP to Google Cloud addresses with no name: nothing shows NetEase, and outflow does not guess by port"},
	"iQIYI":        {want: "baidu", fallback: "china-telecom|-", why: "one proprietary UDP exchange with no name, to a Chinese carrier's address that no catalogued AS announces"},
	// 1kxun's owner is not established by any source the catalog has (the
	// intel marks it "verify"), so outflow does not claim one; its flows on
	// Alibaba Cloud addresses are reported as hosted there.
	"1kxun": {want: "1kxun", fallback: "host|-", why: "the owner of 1kxun is unverified, so it is not in the catalog; its hosting or carrier is reported where the address says"},
	// Genshin Impact is miHoYo's; its game servers answer on proprietary
	// protocols from Alibaba and Tencent Cloud addresses.
	"GenshinImpact": {want: "mihoyo", fallback: "alibaba|tencent", why: "proprietary UDP and TCP without names: only the hosting (Alibaba or Tencent Cloud) can be known"},
}

var positives = []string{"wechat.pcap", "1kxun.pcap", "long_tls_certificate.pcap", "alicloud.pcap", "dingtalk.pcap",
	"genshin-impact.pcap", "tencent_games.pcap", "netease_games.pcapng", "iqiyi.pcap", "oicq.pcap", "codm.pcap"}

var negatives = []string{"chrome.pcap", "google_ssl.pcap", "http.pcapng", "quic.pcap", "youtube_quic.pcap",
	"android.pcap", "iphone.pcap", "dns.pcap", "doh.pcapng", "tls_ech.pcapng"}

// fallbackOK accepts a chain holding one of the "|"-separated ids; "-"
// accepts no attribution at all, "host" any hosting or carrier.
func fallbackOK(fb string, chain []string, role string) bool {
	for _, id := range strings.Split(fb, "|") {
		if id == "-" && len(chain) == 0 || id == "host" && (role == "host" || role == "carrier") || contains(chain, id) {
			return true
		}
	}
	return false
}

func chainOf(ix *catalog.Index, id string) []string {
	e := ix.Entities[id]
	if e == nil {
		return nil
	}
	var out []string
	for _, c := range e.Chain {
		out = append(out, c.ID)
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestCorpusAgainstNDPI checks every China-linked flow nDPI names in the
// shared captures is attributed to its company.
func TestCorpusAgainstNDPI(t *testing.T) {
	dir := sharedPcaps(t)
	ix := openCatalog(t)
	for _, name := range positives {
		t.Run(name, func(t *testing.T) {
			rep := scanFiles(t, ix, filepath.Join(dir, name))
			ours := ourFlows(rep)
			checked := 0
			for _, nf := range readNDPI(t, name) {
				app := nf.app
				if strings.HasPrefix(app, "DNS.") {
					// nDPI labels a DNS query by the name asked; the query goes
					// to the resolver, not to the company. The flows that follow
					// it are the company's, and are checked.
					continue
				}
				if i := strings.LastIndexByte(app, '.'); i >= 0 {
					app = app[i+1:]
				}
				exp, ok := company[app]
				if !ok {
					continue
				}
				checked++
				f := ours[pairKey(nf.proto, nf.a, nf.b)]
				if f == nil {
					t.Errorf("%s flow %s <-> %s (%s): not found in the scan", nf.proto, nf.a, nf.b, nf.app)
					continue
				}
				chain := chainOf(ix, f.Entity)
				switch {
				case contains(chain, exp.want):
				case exp.fallback != "" && fallbackOK(exp.fallback, chain, f.Role):
					t.Logf("%s <-> %s (%s): attributed to %v, not %s: %s", nf.a, nf.b, nf.app, chain, exp.want, exp.why)
				default:
					t.Errorf("%s flow %s <-> %s: nDPI says %s (%s); outflow says %q (chain %v), name %q",
						nf.proto, nf.a, nf.b, nf.app, exp.want, f.Entity, chain, f.Name)
				}
			}
			if checked == 0 {
				t.Fatalf("no China-linked flow in nDPI's output for %s: the expectation table is stale", name)
			}
		})
	}
}

// TestCorpusNegatives: captures of ordinary traffic name no entity of
// concern.
func TestCorpusNegatives(t *testing.T) {
	dir := sharedPcaps(t)
	ix := openCatalog(t)
	for _, name := range negatives {
		t.Run(name, func(t *testing.T) {
			rep := scanFiles(t, ix, filepath.Join(dir, name))
			for _, tot := range rep.Totals {
				t.Errorf("entity of concern %s (%s) found in a negative capture", tot.Entity, tot.Role)
			}
		})
	}
}

// TestByteCountsAgreeWithTshark sums frame lengths per conversation with
// tshark and compares them with the scan's flows.
func TestByteCountsAgreeWithTshark(t *testing.T) {
	dir := sharedPcaps(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (apt-get install tshark); .ci/run installs it")
	}
	ix := openCatalog(t)
	for _, name := range append(append([]string{}, positives...), negatives...) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			want := tsharkConversations(t, path)
			ours := ourFlows(scanFiles(t, ix, path))
			var keys []string
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				f := ours[k]
				if f == nil {
					t.Errorf("%s: tshark has %d bytes, the scan has no such flow", k, want[k])
					continue
				}
				if got := f.BytesOut + f.BytesIn; got != want[k] {
					t.Errorf("%s: %d bytes, tshark %d", k, got, want[k])
				}
			}
		})
	}
}

func tsharkConversations(t *testing.T, path string) map[string]uint64 {
	cmd := exec.Command("tshark", "-r", path, "-T", "fields", "-E", "separator=,",
		"-e", "frame.len", "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst",
		"-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "ip.flags.mf", "-e", "ip.frag_offset")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	m := map[string]uint64{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 9 {
			continue
		}
		n, _ := strconv.ParseUint(f[0], 10, 64)
		src, dst := first(f[1]), first(f[2])
		if src == "" {
			src, dst = first(f[3]), first(f[4])
		}
		proto, sp, dp := "tcp", first(f[5]), first(f[6])
		if sp == "" {
			proto, sp, dp = "udp", first(f[7]), first(f[8])
		}
		if src == "" || sp == "" {
			continue // not TCP/UDP over IP, or a later fragment (counted by tshark under IP only)
		}
		m[pairKey(proto, join(src, sp), join(dst, dp))] += n
	}
	return m
}

// first takes the outermost value of a field tshark repeats for tunnels.
func first(s string) string {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		return s[:i]
	}
	return s
}

func join(addr, port string) string {
	if strings.Contains(addr, ":") {
		return "[" + addr + "]:" + port
	}
	return addr + ":" + port
}

// TestFlowExports reads the shared IPFIX biflow export of wechat.pcap: every
// record becomes a flow with both directions' bytes.
func TestFlowExports(t *testing.T) {
	p := sharedtest.Path(t, "netflow", "ipfix_bidir_from_wechat.pcapng")
	ix := openCatalog(t)
	cfg := DefaultConfig()
	cfg.FlowExports = true
	s := New(cfg, attribute.New(ix))
	if err := s.ReadFile(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	rep := s.Finish(testAt)
	var total uint64
	flows := 0
	for _, d := range rep.Devices {
		total += d.Other.BytesOut + d.Other.BytesIn
		flows += d.Other.Flows
		for _, e := range d.Exposures {
			total += e.BytesOut + e.BytesIn
			flows += e.Flows
		}
	}
	if rep.Stats.ExportedFlows != 103 || flows != 103 || total != 643902 {
		t.Fatalf("%d records, %d flows, %d bytes; want 103, 103, 643902", rep.Stats.ExportedFlows, flows, total)
	}
	if len(rep.Totals) == 0 || rep.Totals[0].Role != "host" {
		t.Errorf("an export has no names: attributions are by AS, as hosting (%+v)", rep.Totals)
	}
}
