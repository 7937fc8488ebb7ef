package scancmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Names in logs are the sensor's copy of what the network said: a TLS
// server name with an escape sequence in a Suricata EVE record must not
// reach the terminal raw.
func TestTextEscapesLoggedNames(t *testing.T) {
	p := filepath.Join(t.TempDir(), "eve.json")
	rec := `{"timestamp":"2026-03-02T09:00:17.100000+0000","flow_id":21,"event_type":"tls","src_ip":"192.168.50.10","src_port":50001,"dest_ip":"23.50.60.70","dest_port":443,"proto":"TCP","tls":{"sni":"www.tiktok.com\u001b[2J\u001b[H"}}
{"timestamp":"2026-03-02T09:00:18.000000+0000","flow_id":21,"event_type":"flow","src_ip":"192.168.50.10","src_port":50001,"dest_ip":"23.50.60.70","dest_port":443,"proto":"TCP","flow":{"pkts_toserver":5,"pkts_toclient":5,"bytes_toserver":900,"bytes_toclient":5000,"start":"2026-03-02T09:00:17.000000+0000","end":"2026-03-02T09:00:18.000000+0000"}}
`
	if err := os.WriteFile(p, []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, stderr := runScan(t, "--all", "--no-progress", p)
	if strings.ContainsRune(out, 0x1b) || strings.ContainsRune(stderr, 0x1b) {
		t.Errorf("an escape reaches the terminal:\n%q\n%q", out, stderr)
	}
}
