package flow

import (
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/capture/decode"
)

// An HTTP-DNS query keeps its method, last path segment and the name asked,
// without the account id and signature; an ordinary request keeps nothing,
// and a query cut across two segments is still read.
func TestHTTPDNSRequestKept(t *testing.T) {
	tests := []struct {
		name string
		head []string
		want string
	}{
		{"alibaba sign_d", []string{"GET /100000/sign_d?host=appmarket.micloud.xiaomi.net&t=1700000000&s=0123abcd HTTP/1.1\r\nHost: 203.107.1.65\r\n\r\n"},
			"GET /sign_d?host=appmarket.micloud.xiaomi.net"},
		{"split", []string{"GET /d?dn=cloud.tencent.c", "om&id=7 HTTP/1.1\r\nHost: 43.132.55.55\r\nUser-Agent: x\r\n\r\n"},
			"GET /d?dn=cloud.tencent.com"},
		{"no host header", []string{"GET /resolve?name=www.taobao.com HTTP/1.0\r\nAccept: */*\r\n\r\n"},
			"GET /resolve?name=www.taobao.com"},
		{"ordinary", []string{"GET /index.html?host=www.example.com HTTP/1.1\r\nHost: example.com\r\n\r\n"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, out := collect(DefaultConfig())
			tr.Packet(tcp("192.168.1.5", "203.107.1.65", 50000, 80, 100, decode.SYN, nil), 74, t0)
			seq := uint32(101)
			for i, seg := range tc.head {
				tr.Packet(tcp("192.168.1.5", "203.107.1.65", 50000, 80, seq, decode.ACK, []byte(seg)), 66+len(seg), t0.Add(time.Duration(i+1)*time.Millisecond))
				seq += uint32(len(seg))
			}
			tr.Flush()
			if len(*out) != 1 {
				t.Fatalf("%d flows", len(*out))
			}
			if got := (*out)[0].HTTPDNS; got != tc.want {
				t.Errorf("HTTPDNS %q, want %q", got, tc.want)
			}
		})
	}
}
