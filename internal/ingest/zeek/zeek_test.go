package zeek

import (
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

func TestJSONLogs(t *testing.T) {
	in := `{"_path":"ssl","ts":1772442017.1,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":5,"id.resp_h":"1.2.3.4","id.resp_p":443,"server_name":"WWW.TikTok.com","subject":"CN=x,O=ByteDance Pte. Ltd.,C=SG"}
{"_path":"conn","ts":1772442017.0,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":5,"id.resp_h":"1.2.3.4","id.resp_p":443,"proto":"tcp","duration":2.5,"orig_bytes":10,"resp_bytes":20,"conn_state":"SF","orig_pkts":3,"orig_ip_bytes":130,"resp_pkts":4,"resp_ip_bytes":240}
{"_path":"dns","ts":"2026-03-02T09:00:00Z","uid":"C2","id.orig_h":"10.0.0.5","query":"a.example","answers":["b.example","5.6.7.8"],"TTLs":[60.0,30.0]}
`
	var c collect
	r := New()
	if err := r.Read("x.log", strings.NewReader(in), &c, func(err error) { t.Error(err) }); err != nil {
		t.Fatal(err)
	}
	if len(c.flows) != 1 || c.flows[0].SNI != "www.tiktok.com" || c.flows[0].CertOrg != "ByteDance Pte. Ltd." ||
		c.flows[0].OrigBytes != 130 || c.flows[0].RespBytes != 240 || c.flows[0].End.Sub(c.flows[0].Start).Seconds() != 2.5 {
		t.Fatalf("flows %+v", c.flows)
	}
	if len(c.dns) != 1 || c.dns[0].Addr.String() != "5.6.7.8" || c.dns[0].TTL != 30 || c.dns[0].Query != "a.example" {
		t.Fatalf("dns %+v", c.dns)
	}
}

func TestSubjectOrg(t *testing.T) {
	for in, want := range map[string]string{
		`CN=*.hik-connect.com,O=Hangzhou Hikvision Digital Technology Co.\, Ltd.,C=CN`: "Hangzhou Hikvision Digital Technology Co., Ltd.",
		"CN=a": "", "": "", "O=x": "x",
	} {
		if got := subjectOrg(in); got != want {
			t.Errorf("subjectOrg(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add("#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n1.0\tC\t1.2.3.4\t1\t5.6.7.8\t2\ttcp\n")
	f.Add(`{"_path":"dns","id.orig_h":"1.2.3.4","query":"q","answers":"1.1.1.1,x","TTLs":"1,2"}` + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		var c collect
		_ = New().Read("f", strings.NewReader(s), &c, func(error) {})
	})
}

// An http.log request to an HTTP-DNS API is kept on its conn as the
// capture path keeps it; an ordinary request is not (issue 14).
func TestHTTPDNS(t *testing.T) {
	in := `{"_path":"http","ts":1772442017.1,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":5,"id.resp_h":"203.107.1.65","id.resp_p":80,"method":"GET","host":"203.107.1.65","uri":"/100000/sign_d?host=appmarket.micloud.xiaomi.net&t=1&s=abc"}
{"_path":"conn","ts":1772442017.0,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":5,"id.resp_h":"203.107.1.65","id.resp_p":80,"proto":"tcp","duration":0.5,"conn_state":"SF","orig_ip_bytes":300,"resp_ip_bytes":400}
{"_path":"http","ts":1772442018.1,"uid":"C2","id.orig_h":"10.0.0.5","id.orig_p":6,"id.resp_h":"192.0.2.8","id.resp_p":80,"method":"GET","host":"example.org","uri":"/search?q=www.example.com"}
{"_path":"conn","ts":1772442018.0,"uid":"C2","id.orig_h":"10.0.0.5","id.orig_p":6,"id.resp_h":"192.0.2.8","id.resp_p":80,"proto":"tcp","duration":0.5,"conn_state":"SF","orig_ip_bytes":300,"resp_ip_bytes":400}
`
	var c collect
	if err := New().Read("x.log", strings.NewReader(in), &c, func(err error) { t.Error(err) }); err != nil {
		t.Fatal(err)
	}
	if len(c.flows) != 2 || c.flows[0].HTTPDNS != "GET /sign_d?host=appmarket.micloud.xiaomi.net" || c.flows[1].HTTPDNS != "" {
		t.Fatalf("flows %+v", c.flows)
	}
	if r := c.flows[0].Record(); r.HTTPDNS != c.flows[0].HTTPDNS {
		t.Errorf("record lost the HTTP-DNS request: %+v", r)
	}
}
