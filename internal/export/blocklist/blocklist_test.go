package blocklist

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriteFormats(t *testing.T) {
	entries := []Entry{{Name: "tiktok.com", Entity: "tiktok", Source: "s"}, {Name: "www.tiktok.com"}, {Name: "TIKTOKV.COM."}}
	h := Header{Title: "t", Generated: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	tests := []struct {
		format string
		want   []string
		not    []string
	}{
		{"hosts", []string{"0.0.0.0 tiktok.com\n", "0.0.0.0 www.tiktok.com\n", "0.0.0.0 tiktokv.com\n"}, nil},
		{"adguard", []string{"||tiktok.com^\n", "||tiktokv.com^\n", "! t\n"}, []string{"www.tiktok.com"}},
		{"dnsmasq", []string{"address=/tiktok.com/\n"}, []string{"www.tiktok.com"}},
		{"unbound", []string{"server:\n", `local-zone: "tiktok.com." always_nxdomain`}, nil},
		{"rpz", []string{"$TTL 300\n", "tiktok.com CNAME .\n*.tiktok.com CNAME .\n", "2026110100"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tc.format, h, entries); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
			for _, n := range tc.not {
				if strings.Contains(b.String(), n) {
					t.Errorf("output has %q:\n%s", n, b.String())
				}
			}
		})
	}
	if err := Write(&bytes.Buffer{}, "bind", h, entries); err == nil {
		t.Error("unknown format accepted")
	}
}
