package policy

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/policy/policytest"
)

// FuzzParse: any policy file is either refused with an error or compiled
// into a policy that can decide; it never panics.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/policy.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("rules:\n  - action: block\n    entities: bytedance\n    except: {clients: [10.0.0.1, x.example]}\n"))
	f.Add([]byte("groups:\n  - {name: g, addresses: ['::/0', 0.0.0.0/0]}\nrules:\n  - {action: monitor, names: [a.b], groups: g}\n"))
	f.Add([]byte("rules: {}\n"))
	f.Add([]byte(devicePolicy))
	f.Add([]byte("rules:\n  - {action: block, entities: bytedance}\nbypass:\n  canaries: true\n  dns_services:\n    - {kinds: [httpdns, public-resolver], groups: [g]}\n"))
	ix, err := policytest.Compile()
	if err != nil {
		f.Fatal(err)
	}
	at := attribute.New(ix)
	a := at.Name(attribute.DNSQuery, "www.tiktok.com")
	noFiles := Options{Open: func(string) (io.ReadCloser, error) { return nil, errors.New("no files") }, Catalog: ix}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseWith("fuzz.yaml", b, noFiles)
		if err != nil {
			return
		}
		_ = p.Check(ix)
		c := Client{Addr: netip.MustParseAddr("10.0.0.1"), Name: "x.example", Tags: []string{"t"},
			MAC: MAC{0xa4, 0xc1, 0x38, 1, 2, 3}, Hostname: "kiosk-1.lab.example"}
		p.Decide(c, a, "www.tiktok.com", time.Unix(1e9, 0))
		p.Decide(c, attribute.Attribution{}, "a.b", time.Unix(2e9, 0))
	})
}
