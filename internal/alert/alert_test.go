package alert

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

func sample(i int) Alert {
	return Alert{
		Time: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Kind: PastDeadline, Site: "hq",
		Device: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), DeviceName: `kiosk <7> & "lobby"`,
		Entity: "bytedance", EntityName: "ByteDance Ltd.", Jurisdiction: "CN", Rule: "ban-bytedance",
		Deadline: time.Date(2026, 1, 22, 0, 0, 0, 0, time.UTC),
		Evidence: []Evidence{{"sni", "www.tiktok.com"}}, Bytes: 12345,
	}
}

// testConfig: short backoffs, no rate limit.
func testConfig() Config {
	c := DefaultConfig()
	c.Rate.PerSecond = 0
	c.Retry.Initial, c.Retry.Max = time.Millisecond, 4*time.Millisecond
	return c
}

func TestWebhookBodiesAndRetry(t *testing.T) {
	type got struct {
		path string
		body []byte
	}
	var mu sync.Mutex
	var bodies []got
	var fails atomic.Int32
	fails.Store(3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/gone" {
			w.WriteHeader(404)
			return
		}
		if r.URL.Path == "/json" && fails.Add(-1) >= 0 {
			w.WriteHeader(500)
			return
		}
		mu.Lock()
		bodies = append(bodies, got{r.URL.Path, b})
		mu.Unlock()
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("server at %s", srv.URL)
	}
	cfg := testConfig()
	for _, f := range []string{"json", "slack", "teams"} {
		cfg.Webhooks = append(cfg.Webhooks, WebhookConfig{Name: f, URL: srv.URL + "/" + f, Format: f})
	}
	cfg.Webhooks = append(cfg.Webhooks, WebhookConfig{Name: "gone", URL: srv.URL + "/gone"})
	n, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	n.Start(context.Background())
	if !n.Raise(sample(1)) {
		t.Fatal("not queued")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	byPath := map[string][]byte{}
	for _, g := range bodies {
		byPath[g.path] = g.body
	}
	// JSON: decodes to the alert.
	var a Alert
	if err := json.Unmarshal(byPath["/json"], &a); err != nil || a.Entity != "bytedance" || a.Device.String() != "10.0.0.1" || a.Bytes != 12345 || a.Summary == "" {
		t.Errorf("json body %s: %v", byPath["/json"], err)
	}
	// Slack: text with <, > and & escaped.
	var s struct{ Text string }
	if err := json.Unmarshal(byPath["/slack"], &s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Text, `kiosk &lt;7&gt; &amp; "lobby"`) || strings.ContainsAny(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(s.Text, "&lt;", ""), "&gt;", ""), "&amp;", ""), "<>&") {
		t.Errorf("slack text %q", s.Text)
	}
	// Teams: an Adaptive Card in a message.
	var tm struct {
		Type        string
		Attachments []struct {
			ContentType string
			Content     struct {
				Type string
				Body []struct {
					Type  string
					Text  string
					Facts []struct{ Title, Value string }
				}
			}
		}
	}
	if err := json.Unmarshal(byPath["/teams"], &tm); err != nil || tm.Type != "message" || len(tm.Attachments) != 1 ||
		tm.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || tm.Attachments[0].Content.Type != "AdaptiveCard" {
		t.Fatalf("teams body %s: %v", byPath["/teams"], err)
	}
	facts := map[string]string{}
	for _, b := range tm.Attachments[0].Content.Body {
		for _, f := range b.Facts {
			facts[f.Title] = f.Value
		}
	}
	if facts["Entity"] != `ByteDance Ltd. \(bytedance\)` || facts["Jurisdiction"] != "CN" {
		t.Errorf("teams facts %v", facts)
	}
	// Retries: /json failed 3 times, then succeeded; /gone 404s once and
	// is not retried.
	js := n.met.sent.WithLabelValues("json")
	if value(js) != 1 || value(n.met.retries.WithLabelValues("json")) != 3 || value(n.met.failed.WithLabelValues("json")) != 0 {
		t.Errorf("json: sent %v retries %v", value(js), value(n.met.retries.WithLabelValues("json")))
	}
	if value(n.met.failed.WithLabelValues("gone")) != 1 || value(n.met.retries.WithLabelValues("gone")) != 0 {
		t.Errorf("gone: failed %v retries %v", value(n.met.failed.WithLabelValues("gone")), value(n.met.retries.WithLabelValues("gone")))
	}
}

func TestGiveUpAfterAttempts(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(503)
	}))
	defer srv.Close()
	cfg := testConfig()
	cfg.Retry.Attempts = 4
	cfg.Webhooks = []WebhookConfig{{Name: "down", URL: srv.URL}}
	n, _ := New(cfg, Deps{})
	n.Start(context.Background())
	n.Raise(sample(1))
	n.Close()
	if calls.Load() != 4 || value(n.met.failed.WithLabelValues("down")) != 1 {
		t.Errorf("%d calls, failed %v", calls.Load(), value(n.met.failed.WithLabelValues("down")))
	}
}

// memSink records what it is sent; block holds Send until closed.
type memSink struct {
	mu    sync.Mutex
	got   []Alert
	block chan struct{}
}

func (m *memSink) Name() string { return "mem" }
func (m *memSink) Close() error { return nil }
func (m *memSink) Send(ctx context.Context, a *Alert) error {
	if m.block != nil {
		<-m.block
	}
	m.mu.Lock()
	m.got = append(m.got, *a)
	m.mu.Unlock()
	return nil
}

func TestDedupe(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	cfg := testConfig()
	cfg.Dedupe.Period, cfg.Dedupe.MaxKeys = time.Hour, 3
	m := &memSink{}
	n, _ := New(cfg, Deps{Now: func() time.Time { return now }, Sinks: []Sink{m}})
	n.Start(context.Background())
	raise := func(a Alert) bool { return n.Raise(a) }
	a := sample(1)
	if !raise(a) || raise(a) || raise(a) {
		t.Fatal("repeat within the period not deduplicated")
	}
	b := a
	b.Rule = "other"
	c := a
	c.Kind = FirstContact
	d := a
	d.Site = "branch-2" // the same address at another site is another device
	if !raise(b) || !raise(c) || !raise(sample(2)) || !raise(d) {
		t.Fatal("different keys deduplicated")
	}
	now = now.Add(61 * time.Minute)
	if !raise(a) {
		t.Fatal("not sent again after the period")
	}
	// Bounded: with 3 keys kept, a fourth pushes out the oldest.
	for i := 10; i < 14; i++ {
		raise(sample(i))
	}
	if len(n.dedupe.until) > 3 || n.dedupe.evicted == 0 {
		t.Errorf("%d keys kept, %d evicted", len(n.dedupe.until), n.dedupe.evicted)
	}
	n.Close()
	if value(n.met.deduped) != 2 || len(m.got) != 10 || value(n.met.byKind[PastDeadline]) != 11 {
		t.Errorf("deduplicated %v, delivered %d, raised %v", value(n.met.deduped), len(m.got), value(n.met.byKind[PastDeadline]))
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	cfg := testConfig()
	cfg.Rate.PerSecond, cfg.Rate.Burst = 2, 5
	m := &memSink{}
	n, _ := New(cfg, Deps{Now: func() time.Time { return now }, Sinks: []Sink{m}})
	n.Start(context.Background())
	sent := 0
	for i := range 20 {
		if n.Raise(sample(i)) {
			sent++
		}
	}
	now = now.Add(1500 * time.Millisecond) // 3 more tokens
	for i := 20; i < 30; i++ {
		if n.Raise(sample(i)) {
			sent++
		}
	}
	n.Close()
	if sent != 8 || value(n.met.limited) != 22 || len(m.got) != 8 {
		t.Errorf("sent %d, limited %v, delivered %d; want 8, 22, 8", sent, value(n.met.limited), len(m.got))
	}
}

func TestQueueFullDropsWithoutBlocking(t *testing.T) {
	cfg := testConfig()
	cfg.Queue = 2
	cfg.Drain = 50 * time.Millisecond
	m := &memSink{block: make(chan struct{})}
	n, _ := New(cfg, Deps{Sinks: []Sink{m}})
	n.Start(context.Background())
	done := make(chan int)
	go func() {
		q := 0
		for i := range 10 {
			if n.Raise(sample(i)) {
				q++
			}
		}
		done <- q
	}()
	select {
	case q := <-done:
		// one in Send, two queued, maybe one more taken while raising
		if q < 2 || q > 4 {
			t.Errorf("%d queued", q)
		}
		if d := value(n.met.dropped.WithLabelValues("mem")); d != float64(10-q) {
			t.Errorf("dropped %v, want %d", d, 10-q)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Raise blocked")
	}
	close(m.block)
	n.Close()
	if n.Raise(sample(99)) {
		t.Error("queued after Close")
	}
}

// syslogReceiver listens on 127.0.0.1 (UDP or TCP with octet counting)
// and hands each message over.
func syslogReceiver(t *testing.T, network string) (addr string, msgs <-chan string) {
	t.Helper()
	ch := make(chan string, 16)
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		go func() {
			buf := make([]byte, 65536)
			for {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				ch <- string(buf[:n])
			}
		}()
		return pc.LocalAddr().String(), ch
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go readFrames(c, ch)
		}
	}()
	return ln.Addr().String(), ch
}

func readFrames(c net.Conn, ch chan<- string) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		// RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG
		l, err := r.ReadString(' ')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(l, " "))
		if err != nil || n <= 0 || n > 1<<20 {
			ch <- "BAD FRAME " + l
			return
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return
		}
		ch <- string(b)
	}
}

func TestSyslog(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			addr, msgs := syslogReceiver(t, network)
			cfg := testConfig()
			cfg.Syslog = []SyslogConfig{
				{Name: "sd", Network: network, Address: addr, Hostname: "sensor 1", Facility: 10},
				{Name: "cef", Network: network, Address: addr, Format: "cef"},
			}
			n, err := New(cfg, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			n.Start(context.Background())
			a := sample(1)
			a.DeviceName = "kiosk] \"x\" \\ y\nz"
			a.Summary = "pipe | backslash \\ equals = newline\nend"
			n.Raise(a)
			b := sample(2)
			b.Kind = FirstContact
			n.Raise(b)
			var got []*syslogMsg
			for range 4 {
				select {
				case s := <-msgs:
					if strings.ContainsAny(s, "\n\r") {
						t.Errorf("raw line break in %q", s)
					}
					m, err := parse5424(s)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, m)
				case <-time.After(5 * time.Second):
					t.Fatal("no message")
				}
			}
			n.Close()
			var sd, cef []*syslogMsg
			for _, m := range got {
				if m.sdid != "" {
					sd = append(sd, m)
				} else {
					cef = append(cef, m)
				}
			}
			if len(sd) != 2 || len(cef) != 2 {
				t.Fatalf("%d sd, %d cef", len(sd), len(cef))
			}
			for _, m := range sd {
				if m.params["device"][0] != "10.0.0.1" {
					continue
				}
				if m.pri != 10*8+4 || m.host != "sensor_1" || m.app != "outflow" || m.msgid != "past_deadline" || m.sdid != "outflow@32473" || m.ts != "2026-03-02T09:00:00.000000Z" {
					t.Errorf("header %+v", m)
				}
				if m.params["deviceName"][0] != "kiosk] \"x\" \\ y z" || m.params["entity"][0] != "bytedance" || m.params["evidence"][0] != "sni:www.tiktok.com" || m.params["deadline"][0] != "2026-01-22T00:00:00Z" || m.params["bytes"][0] != "12345" {
					t.Errorf("params %v", m.params)
				}
				if m.msg != "pipe | backslash \\ equals = newline end" {
					t.Errorf("msg %q", m.msg)
				}
			}
			for _, m := range cef {
				c, err := parseCEF(m.msg)
				if err != nil {
					t.Fatal(err)
				}
				if c.ext["src"] == "10.0.0.2" {
					if c.header[4] != "first_contact" || c.header[6] != "5" || m.pri != 13*8+5 {
						t.Errorf("first contact: %v pri %d", c.header, m.pri)
					}
					continue
				}
				if c.header[0] != "0" || c.header[1] != "outflow" || c.header[4] != "past_deadline" || c.header[6] != "8" {
					t.Errorf("header %q", c.header)
				}
				if c.ext["shost"] != a.DeviceName || c.ext["cs1"] != "bytedance" || c.ext["cs4"] != "ban-bytedance" || c.ext["msg"] != "pipe | backslash \\ equals = newline end" || c.ext["rt"] != "1772442000000" {
					t.Errorf("extension %q", c.ext)
				}
			}
		})
	}
}

func TestCEFFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "alerts.cef")
	cfg := testConfig()
	cfg.Files = []FileConfig{{Path: p}}
	n, _ := New(cfg, Deps{})
	n.Start(context.Background())
	a := sample(1)
	a.EntityName = "Pipe|Co \\ = x"
	n.Raise(a)
	n.Close()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines: %q", len(lines), b)
	}
	c, err := parseCEF(lines[0])
	if err != nil || c.ext["cs2"] != "Pipe|Co \\ = x" || !strings.Contains(lines[0], `cs2=Pipe|Co \\ \= x`) {
		t.Errorf("%q: %v %v", lines[0], c, err)
	}
}

func TestValidate(t *testing.T) {
	for _, mod := range []func(*Config){
		func(c *Config) { c.Queue = 0 },
		func(c *Config) { c.Retry.Attempts = 0 },
		func(c *Config) { c.Rate.PerSecond, c.Rate.Burst = 1, 0 },
		func(c *Config) { c.Webhooks = []WebhookConfig{{URL: "file:///etc/passwd"}} },
		func(c *Config) { c.Webhooks = []WebhookConfig{{URL: "http://x", Format: "xml"}} },
		func(c *Config) { c.Syslog = []SyslogConfig{{Address: "nohost"}} },
		func(c *Config) { c.Syslog = []SyslogConfig{{Address: "h:1", Network: "sctp"}} },
		func(c *Config) { c.Syslog = []SyslogConfig{{Address: "h:1", SDID: "a b"}} },
		func(c *Config) { c.Files = []FileConfig{{Path: "/a", Name: "x"}, {Path: "/b", Name: "x"}} },
	} {
		c := DefaultConfig()
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
