package alert

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzEscaping puts arbitrary text in every string field: the CEF line and
// the RFC 5424 message must hold no raw line break and parse back to the
// values (header line breaks become spaces; syslog values are one line).
func FuzzEscaping(f *testing.F) {
	f.Add("kiosk|7", `a\b=c`, "x\ny\r\nz", "]\"\\", "site=1")
	f.Add("", "", "", "", "")
	f.Add("\\", "=", "|", "\\n", "é\u2028")
	f.Fuzz(func(t *testing.T, name, entityName, summary, rule, site string) {
		a := Alert{Time: time.Unix(1772442000, 0), Kind: Kind(rule), Device: netip.MustParseAddr("10.0.0.1"),
			DeviceName: name, Entity: "e", EntityName: entityName, Rule: rule, Site: site, Summary: summary,
			Evidence: []Evidence{{Kind: name, Value: entityName}}}
		line := CEF(&a, "1")
		if strings.ContainsAny(line, "\n\r") {
			t.Fatalf("raw line break in %q", line)
		}
		c, err := parseCEF(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if c.header[4] != strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(rule) {
			t.Fatalf("class id %q from %q", c.header[4], rule)
		}
		for k, want := range map[string]string{"shost": name, "cs2": entityName, "cs4": rule, "cs5": site, "msg": a.Text()} {
			if c.ext[k] != want {
				t.Fatalf("%s = %q, want %q in %q", k, c.ext[k], want, line)
			}
		}
		msg := Syslog(&a, SyslogConfig{Facility: 13, Hostname: name, AppName: "outflow", SDID: "outflow@32473"})
		if strings.ContainsAny(msg, "\n\r") {
			t.Fatalf("raw line break in %q", msg)
		}
		m, err := parse5424(msg)
		if err != nil {
			t.Fatalf("%q: %v", msg, err)
		}
		for k, want := range map[string]string{"deviceName": name, "entityName": entityName, "rule": rule, "site": site} {
			if want == "" {
				continue
			}
			if got := m.params[k]; len(got) != 1 || got[0] != oneLine(want) {
				t.Fatalf("%s = %q, want %q in %q", k, got, oneLine(want), msg)
			}
		}
		if m.msg != a.Text() {
			t.Fatalf("msg %q, want %q", m.msg, a.Text())
		}
	})
}
