package scan_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/scan"
)

// A Zeek dns.log of a few hours, read before its conn.log as OrderInputs
// has it: the first conversation still finds its name.
func TestZeekDNSLogHoursBeforeConnLog(t *testing.T) {
	dir := t.TempDir()
	const t0 = 1772442016
	var dns strings.Builder
	dns.WriteString("#separator \\x09\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\tanswers\tTTLs\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tvector[string]\tvector[interval]\n")
	fmt.Fprintf(&dns, "%d.000000\tCd4\t192.168.50.20\t53000\t192.168.50.1\t53\tudp\twww.temu.com\t104.18.24.57\t60.000000\n", t0)
	for i := range 3000 { // the rest of the morning: one answer every 3.6 s
		fmt.Fprintf(&dns, "%d.000000\tX%d\t192.168.50.21\t53000\t192.168.50.1\t53\tudp\tn%d.example.org\t198.18.%d.%d\t300.000000\n", t0+1+i*36/10, i, i, i>>8, i&255)
	}
	conn := "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tcount\tcount\tcount\tcount\n" +
		fmt.Sprintf("%d.500000\tCe5\t192.168.50.20\t50100\t104.18.24.57\t443\ttcp\tssl\t5.0\t13000\t210000\tSF\t60\t15000\t170\t220000\n", t0)
	os.WriteFile(filepath.Join(dir, "dns.log"), []byte(dns.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "conn.log"), []byte(conn), 0o644)
	ix, err := catalog.Open(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	s := scan.New(scan.DefaultConfig(), attribute.New(ix))
	for _, f := range scan.OrderInputs([]string{filepath.Join(dir, "conn.log"), filepath.Join(dir, "dns.log")}) {
		if err := s.ReadAny(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	rep := s.Finish(time.Now())
	var ents []string
	for _, d := range rep.Devices {
		if d.Address == "192.168.50.20" {
			for _, x := range d.Exposures {
				ents = append(ents, x.Entity)
			}
		}
	}
	if len(ents) == 0 {
		t.Errorf("192.168.50.20's conversation to www.temu.com's address: no exposure (totals %+v)", rep.Totals)
	} else {
		_ = ents
	}
}
