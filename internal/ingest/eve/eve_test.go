package eve

import (
	"os"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/ingest"
)

type collect struct {
	flows []ingest.Flow
	dns   []ingest.DNS
}

func (c *collect) Flow(f ingest.Flow) { c.flows = append(c.flows, f) }
func (c *collect) DNS(d ingest.DNS)   { c.dns = append(c.dns, d) }

func TestFixture(t *testing.T) {
	f, err := os.Open("testdata/eve.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var c collect
	var bad []error
	if err := New().Read("eve.json", f, &c, func(err error) { bad = append(bad, err) }); err != nil {
		t.Fatal(err)
	}
	if len(c.flows) != 4 || len(c.dns) != 1 || len(bad) != 1 || !strings.HasPrefix(bad[0].Error(), "eve.json:10:") {
		t.Fatalf("%d flows, %d dns, bad %v", len(c.flows), len(c.dns), bad)
	}
	tik := c.flows[0]
	if tik.SNI != "www.tiktok.com" || tik.OrigBytes != 32000 || tik.End.Sub(tik.Start).Seconds() != 3.5 {
		t.Errorf("first flow %+v", tik)
	}
	if c.flows[1].CertOrg != "Hangzhou Hikvision Digital Technology Co., Ltd." {
		t.Errorf("cert org %q", c.flows[1].CertOrg)
	}
	if c.flows[2].QUICSNI != "hkminorshort.weixin.qq.com" {
		t.Errorf("quic sni %q", c.flows[2].QUICSNI)
	}
	if d := c.dns[0]; d.Client.String() != "192.168.50.20" || d.Addr.String() != "104.18.24.57" || d.Query != "www.temu.com" {
		t.Errorf("dns %+v", d)
	}
}

func FuzzRead(f *testing.F) {
	if b, err := os.ReadFile("testdata/eve.json"); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		var c collect
		_ = New().Read("f", strings.NewReader(s), &c, func(error) {})
	})
}

// An http event asking an HTTP-DNS API is kept on its flow (issue 14).
func TestHTTPDNS(t *testing.T) {
	in := `{"timestamp":"2026-03-02T09:00:00.000000+0000","flow_id":7,"event_type":"http","src_ip":"10.0.0.5","src_port":5,"dest_ip":"203.107.1.65","dest_port":80,"proto":"TCP","http":{"hostname":"203.107.1.65","url":"/191607/d?host=www.taobao.com","http_method":"GET"}}
{"timestamp":"2026-03-02T09:00:01.000000+0000","flow_id":7,"event_type":"flow","src_ip":"10.0.0.5","src_port":5,"dest_ip":"203.107.1.65","dest_port":80,"proto":"TCP","flow":{"pkts_toserver":3,"pkts_toclient":3,"bytes_toserver":300,"bytes_toclient":400,"start":"2026-03-02T09:00:00.000000+0000","end":"2026-03-02T09:00:01.000000+0000"}}
`
	var c collect
	if err := New().Read("eve.json", strings.NewReader(in), &c, func(err error) { t.Error(err) }); err != nil {
		t.Fatal(err)
	}
	if len(c.flows) != 1 || c.flows[0].HTTPDNS != "GET /d?host=www.taobao.com" {
		t.Fatalf("flows %+v", c.flows)
	}
}
