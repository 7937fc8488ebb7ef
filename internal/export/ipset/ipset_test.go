package ipset

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/export/indicator"
)

// TestRestoreSyntax checks every line against the `ipset restore` grammar
// for the commands the export uses (ipset(8): create SETNAME TYPENAME
// [CREATE-OPTIONS], flush SETNAME, add SETNAME ENTRY [ADD-OPTIONS]). ipset
// has no dry-run: restoring would change the kernel's sets, so the test
// does not call it.
func TestRestoreSyntax(t *testing.T) {
	p := netip.MustParsePrefix
	in := []indicator.Indicator{
		{Prefix: p("71.18.0.0/16")}, {Prefix: p("71.18.9.0/24")}, {Prefix: p("71.19.0.0/16")},
		{Prefix: p("2402:3e80::/32")}, {Prefix: p("203.107.1.65/32")}, {Domain: "tiktok.com"},
	}
	var b bytes.Buffer
	if err := Write(&b, indicator.Header{Title: "t", Generated: time.Unix(0, 0)}, in); err != nil {
		t.Fatal(err)
	}
	family := map[string]string{}
	var added []string
	sc := bufio.NewScanner(&b)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 10 && f[0] == "create" && f[2] == "hash:net" && f[3] == "family" && (f[4] == "inet" || f[4] == "inet6") &&
			f[5] == "hashsize" && f[7] == "maxelem" && f[9] == "-exist":
			family[f[1]] = f[4]
		case len(f) == 2 && f[0] == "flush" && family[f[1]] != "":
		case len(f) == 4 && f[0] == "add" && f[3] == "-exist" && family[f[1]] != "":
			pp, err := netip.ParsePrefix(f[2])
			if err != nil || (pp.Addr().Is4() != (family[f[1]] == "inet")) {
				t.Errorf("line %d: %q: bad entry for family %s", n, line, family[f[1]])
			}
			added = append(added, f[2])
		default:
			t.Errorf("line %d: not ipset restore syntax: %q", n, line)
		}
	}
	if got := strings.Join(added, " "); got != "71.18.0.0/15 203.107.1.65/32 2402:3e80::/32" {
		t.Errorf("entries: %s", got)
	}
	if family[SetV4] != "inet" || family[SetV6] != "inet6" {
		t.Errorf("sets: %v", family)
	}
}
