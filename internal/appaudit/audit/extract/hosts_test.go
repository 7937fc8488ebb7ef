package extract

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func urls(s string) (us, hs []string) {
	scanURLs([]byte(s), func(u, h []byte) {
		us = append(us, string(u))
		hs = append(hs, string(h))
	})
	return
}

func TestScanURLs(t *testing.T) {
	for _, tc := range []struct {
		in    string
		urls  []string
		hosts []string
	}{
		{"http://api.weibo.cn/2/client/common_config", []string{"http://api.weibo.cn/2/client/common_config"}, []string{"api.weibo.cn"}},
		{"see HTTPS://User:pw@Example.COM:8443/x?y=1#z.", []string{"HTTPS://User:pw@Example.COM:8443/x?y=1#z."}, []string{"example.com"}},
		{`{"a":"http://a.example.net/p","b":"https://b.example.org"}`, []string{"http://a.example.net/p", "https://b.example.org"}, []string{"a.example.net", "b.example.org"}},
		{"http://180.149.139.199:8081/v2/pay", []string{"http://180.149.139.199:8081/v2/pay"}, []string{"180.149.139.199"}},
		{"http://[2001:db8::1]:80/", []string{"http://[2001:db8::1]:80/"}, []string{"2001:db8::1"}},
		{"http://a.example.com,http://b.example.com", []string{"http://a.example.com,http://b.example.com", "http://b.example.com"}, []string{"a.example.com", "b.example.com"}},
		{"http://%s/path", nil, nil},
		{"https://graph.", nil, nil},
		{"http://localhost:8080/", nil, nil},
		{"ftp://files.example.com/", nil, nil},
		{"content://sms/inbox", nil, nil},
		{"http://", nil, nil},
		{"://x.y", nil, nil},
	} {
		t.Run(tc.in, func(t *testing.T) {
			us, hs := urls(tc.in)
			if diff := cmp.Diff(tc.urls, us); diff != "" {
				t.Errorf("urls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.hosts, hs); diff != "" {
				t.Errorf("hosts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBareHost(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"api.weibo.cn", true},
		{"log.umsns.com", true},
		{"www.baidu.com", true},
		{"com.tencent.mm", false},   // a Java package
		{"cn.jpush.android", false}, // a Java package
		{"android.intent.action.VIEW", false},
		{"libweibosdkcore.so", false},
		{"ro.kernel.qemu", false},
		{"Foo.net", false}, // a class name
		{"a.com", true},
		{"-bad.example.com", false},
		{"bad-.example.com", false},
		{"x..example.com", false},
		{"1.2.3", false},
		{strings.Repeat("a", 64) + ".com", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if _, ok := bareHost([]byte(tc.in)); ok != tc.ok {
				t.Errorf("bareHost(%q) = %v, want %v", tc.in, ok, tc.ok)
			}
		})
	}
}

// FuzzScanURLs: no input panics, and every host handed out is lowercase
// and a valid name or address that occurs in the input.
func FuzzScanURLs(f *testing.F) {
	for _, s := range []string{"http://api.weibo.cn/2/client/common_config", "x https://[::1]:1/ y", "http://a@b@c.d:99999/", "HTTP://X.Y", "http://\xff.com/", "api.weibo.cn"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		scanURLs(b, func(u, h []byte) {
			if !bytes.Equal(h, bytes.ToLower(h)) {
				t.Fatalf("host %q not lowercase", h)
			}
			if _, err := netip.ParseAddr(string(h)); err != nil && !validHost(h, false) {
				t.Fatalf("invalid host %q from %q", h, b)
			}
			if !bytes.Contains(bytes.ToLower(b), bytes.ToLower(u)) {
				t.Fatalf("url %q not in the input", u)
			}
		})
		if h, ok := bareHost(b); ok && !validHost(h, true) {
			t.Fatalf("bare host %q invalid", h)
		}
	})
}
