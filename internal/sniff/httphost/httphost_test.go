package httphost

import (
	"bufio"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/sniff/internal/pcaptest"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Request
		wantErr error
	}{
		{"get", "GET /index.html HTTP/1.1\r\nHost: www.Example.com\r\nAccept: */*\r\n\r\n",
			Request{Method: "GET", Target: []byte("/index.html"), Host: "www.example.com", Minor: 1}, nil},
		{"host not first", "POST /api HTTP/1.1\r\nUser-Agent: x\r\nContent-Length: 0\r\nHOST:api.example.com:8080\r\n\r\n",
			Request{Method: "POST", Target: []byte("/api"), Host: "api.example.com", Minor: 1}, nil},
		{"host with tabs and trailing dot", "HEAD / HTTP/1.0\nhost:\t example.org. \t\n\n",
			Request{Method: "HEAD", Target: []byte("/"), Host: "example.org", Minor: 0}, nil},
		{"ipv6 literal with port", "GET / HTTP/1.1\r\nHost: [2001:DB8::1]:8080\r\n\r\n",
			Request{Method: "GET", Target: []byte("/"), Host: "2001:db8::1", Minor: 1}, nil},
		{"ipv4 literal", "GET / HTTP/1.1\r\nHost: 192.0.2.7\r\n\r\n",
			Request{Method: "GET", Target: []byte("/"), Host: "192.0.2.7", Minor: 1}, nil},
		{"absolute form wins over host", "GET http://Proxy.Example.net:3128/x?y HTTP/1.1\r\nHost: other.example\r\n\r\n",
			Request{Method: "GET", Target: []byte("http://Proxy.Example.net:3128/x?y"), Host: "proxy.example.net", Minor: 1}, nil},
		{"absolute form with userinfo", "PUT https://user:pw@files.example/a HTTP/1.1\r\n\r\n",
			Request{Method: "PUT", Target: []byte("https://user:pw@files.example/a"), Host: "files.example", Minor: 1}, nil},
		{"connect", "CONNECT tunnel.example.com:443 HTTP/1.1\r\nHost: tunnel.example.com:443\r\n\r\n",
			Request{Method: "CONNECT", Target: []byte("tunnel.example.com:443"), Host: "tunnel.example.com", Minor: 1}, nil},
		{"options star", "OPTIONS * HTTP/1.1\r\nHost: o.example\r\n\r\n",
			Request{Method: "OPTIONS", Target: []byte("*"), Host: "o.example", Minor: 1}, nil},
		{"host before the head ends", "DELETE /r HTTP/1.1\r\nHost: d.example\r\nX-Partial: ab",
			Request{Method: "DELETE", Target: []byte("/r"), Host: "d.example", Minor: 1}, nil},
		{"patch", "PATCH /p HTTP/1.1\r\nHost: p.example\r\n\r\n",
			Request{Method: "PATCH", Target: []byte("/p"), Host: "p.example", Minor: 1}, nil},

		{"empty", "", Request{}, ErrNeedMore},
		{"method prefix", "OPTI", Request{}, ErrNeedMore},
		{"request line unfinished", "GET /very/long/path", Request{Method: "GET"}, ErrNeedMore},
		{"headers unfinished", "GET / HTTP/1.1\r\nAccept: */*\r\n", Request{Method: "GET", Target: []byte("/"), Minor: 1}, ErrNeedMore},
		{"http/1.0 without host", "GET / HTTP/1.0\r\nAccept: */*\r\n\r\n", Request{Method: "GET", Target: []byte("/"), Minor: 0}, ErrNoHost},
		{"empty host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", Request{Method: "GET", Target: []byte("/"), Minor: 1}, ErrNoHost},

		{"tls", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", Request{}, ErrNotHTTP},
		{"lowercase method", "get / HTTP/1.1\r\n", Request{}, ErrNotHTTP},
		{"unknown method", "BREW /pot HTTP/1.1\r\n", Request{}, ErrNotHTTP},
		{"http2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Request{}, ErrNotHTTP},
		{"http/2.0 version", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", Request{}, ErrNotHTTP},
		{"http/0.9", "GET /\r\n", Request{}, ErrNotHTTP},
		{"binary after method", "GET \x00\x01\x02", Request{}, ErrNotHTTP},
		{"no space after method", "GETX / HTTP/1.1\r\n", Request{}, ErrNotHTTP},

		{"host with space", "GET / HTTP/1.1\r\nHost: a b.example\r\n\r\n", Request{Method: "GET", Target: []byte("/"), Minor: 1}, ErrMalformed},
		{"host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", Request{Method: "GET", Target: []byte("/"), Minor: 1}, ErrMalformed},
		{"bad port", "GET / HTTP/1.1\r\nHost: a.example:http\r\n\r\n", Request{Method: "GET", Target: []byte("/"), Minor: 1}, ErrMalformed},
		{"unterminated ipv6", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", Request{Method: "GET", Target: []byte("/"), Minor: 1}, ErrMalformed},
		{"header without name", "GET / HTTP/1.1\r\n: x\r\nHost: a\r\n\r\n", Request{Method: "GET", Target: []byte("/"), Minor: 1}, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTooLong(t *testing.T) {
	long := make([]byte, MaxHead+10)
	copy(long, "GET /")
	for i := 5; i < len(long); i++ {
		long[i] = 'a'
	}
	if _, err := Parse(long); !errors.Is(err, ErrMalformed) {
		t.Errorf("long request line: %v", err)
	}
	head := []byte("GET / HTTP/1.1\r\n")
	for len(head) <= MaxHead {
		head = append(head, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"...)
	}
	if _, err := Parse(head); !errors.Is(err, ErrMalformed) {
		t.Errorf("long head: %v", err)
	}
}

// TestPrefixes checks that every cut of a request asks for more rather
// than failing, until the Host line is complete.
func TestPrefixes(t *testing.T) {
	req := []byte("GET /a/b?c=d HTTP/1.1\r\nUser-Agent: test\r\nHost: prefix.example\r\n\r\n")
	hostEnd := len("GET /a/b?c=d HTTP/1.1\r\nUser-Agent: test\r\nHost: prefix.example\r\n")
	for i := 0; i <= len(req); i++ {
		r, err := Parse(req[:i])
		switch {
		case i < hostEnd:
			if !errors.Is(err, ErrNeedMore) {
				t.Fatalf("prefix %d %q: %v", i, req[:i], err)
			}
		default:
			if err != nil || r.Host != "prefix.example" {
				t.Fatalf("prefix %d: %q, %v", i, r.Host, err)
			}
		}
	}
}

// ndpiHTTPHosts reads the host names nDPI reports for TCP HTTP flows in its
// expected output for a capture.
func ndpiHTTPHosts(t *testing.T, file string) map[string]int {
	f, err := os.Open(pcaptest.Path(t, filepath.Join("ndpi-expected", file+".out")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^\t\d+\tTCP .*\[proto: 7[./].*\[Hostname/SNI: ([^]]+)\]`)
	hosts := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			hosts[m[1]]++
		}
	}
	return hosts
}

// TestCaptures compares the first request's host of every client stream
// with nDPI's names for the HTTP flows of the same captures.
func TestCaptures(t *testing.T) {
	tests := []struct {
		file      string
		wantFlows int
	}{
		{"1kxun.pcap", 86},
		{"http.pcapng", 1},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			pkts := pcaptest.Payloads(t, tc.file)
			want := ndpiHTTPHosts(t, tc.file)
			names := map[string]int{}
			seen := map[[2]netip.AddrPort]bool{}
			for _, p := range pkts {
				k := [2]netip.AddrPort{p.Src, p.Dst}
				if p.Proto != "tcp" || seen[k] {
					continue
				}
				seen[k] = true
				r, err := Parse(pcaptest.Stream(pkts, p.Src, p.Dst))
				switch {
				case errors.Is(err, ErrNotHTTP):
				case err != nil:
					t.Errorf("%v->%v: %v", p.Src, p.Dst, err)
				default:
					names[r.Host]++
				}
			}
			if diff := cmp.Diff(want, names); diff != "" {
				t.Errorf("hosts (-nDPI +ours):\n%s", diff)
			}
			n := 0
			for _, c := range names {
				n += c
			}
			if n != tc.wantFlows {
				t.Errorf("%d named flows, want %d", n, tc.wantFlows)
			}
		})
	}
}

func TestAllocs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want float64
	}{
		{"request", "GET / HTTP/1.1\r\nUser-Agent: x\r\nHost: Alloc.Example\r\n\r\n", 1},
		{"not http", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 0},
		{"need more", "GET / HTTP/1.1\r\nUser-Agent: x\r\n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.in)
			if got := testing.AllocsPerRun(50, func() { _, _ = Parse(b) }); got != tc.want {
				t.Errorf("%v allocations, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"))
	f.Add([]byte("CONNECT [::1]:443 HTTP/1.1\r\n\r\n"))
	f.Add([]byte("GET http://u@h:1/ HTTP/1.0\r\n\r\n"))
	for i, p := range pcaptest.Seeds(f, "1kxun.pcap") {
		if p.Proto == "tcp" && i%10 == 0 {
			f.Add(p.Payload)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err == nil {
			if r.Host == "" || len(r.Host) > 255 {
				t.Fatalf("host %q", r.Host)
			}
			for _, c := range []byte(r.Host) {
				if c >= 'A' && c <= 'Z' || c <= ' ' {
					t.Fatalf("host %q not canonical", r.Host)
				}
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	cases := []struct{ name, in string }{
		{"browser", "GET /images/logo.png HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: image/avif,image/webp,*/*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nHost: static.example.com\r\n\r\n"},
		{"not-http", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"},
	}
	for _, c := range cases {
		in := []byte(c.in)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				_, _ = Parse(in)
			}
		})
	}
}
