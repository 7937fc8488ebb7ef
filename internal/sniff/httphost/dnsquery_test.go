package httphost

import "testing"

func TestDNSQuery(t *testing.T) {
	tests := []struct {
		target, seg, param, name string
	}{
		// Alibaba Cloud HTTPDNS, as a Xiaomi app called it (issue 14)
		{"/100000/sign_d?host=appmarket.micloud.xiaomi.net&t=1700000000&s=abcdef", "sign_d", "host", "appmarket.micloud.xiaomi.net"},
		{"/139450/d?host=www.aliyun.com", "d", "host", "www.aliyun.com"},
		{"/139450/d?host=a.example.com,b.example.com&query=4,6", "d", "host", "a.example.com"},
		{"/139450/d?host=a.example.com%2Cb.example.com", "d", "host", "a.example.com"},
		// Tencent Cloud HTTPDNS with a plain name; Baidu; Volcano Engine; AliDNS JSON
		{"/d?dn=cloud.tencent.com&id=1&token=x", "d", "dn", "cloud.tencent.com"},
		{"/v3/resolve?account_id=1&dn=www.baidu.com&sign=x&t=1", "resolve", "dn", "www.baidu.com"},
		{"/resolve?domain=www.volcengine.com&account_id=2", "resolve", "domain", "www.volcengine.com"},
		{"/resolve?name=www.taobao.com.&type=1", "resolve", "name", "www.taobao.com."},
		{"http://203.107.1.33/100000/d?host=m.taobao.com", "d", "host", "m.taobao.com"},
		{"http://d/x?host=m.taobao.com", "", "", ""},
		{"https://t:80/d?host=m.taobao.com", "d", "host", "m.taobao.com"},
		// not HTTP-DNS
		{"/", "", "", ""},
		{"/d", "", "", ""},
		{"/search?name=pizza", "", "", ""},
		{"/d?dn=8f3a9c0d1e2f", "", "", ""},               // Tencent's encrypted name: no name seen
		{"/d?host=203.107.1.65", "", "", ""},             // an address
		{"/index.html?host=www.example.com", "", "", ""}, // not an HTTP-DNS path
		{"/resolve?q=www.example.com", "", "", ""},       // unknown parameter
		{"/d?host=bad..name", "", "", ""},
		{"/d?host=%3Cscript%3E.example.com", "", "", ""},
		{"/d?=x&host", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			seg, param, name, ok := DNSQuery([]byte(tc.target))
			if ok != (tc.name != "") || string(seg) != tc.seg || string(param) != tc.param || string(name) != tc.name {
				t.Errorf("DNSQuery = %q %q %q %v, want %q %q %q", seg, param, name, ok, tc.seg, tc.param, tc.name)
			}
		})
	}
}

func TestDNSQueryAllocs(t *testing.T) {
	target := []byte("/100000/sign_d?host=appmarket.micloud.xiaomi.net&t=1")
	if n := testing.AllocsPerRun(100, func() { DNSQuery(target) }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

func FuzzDNSQuery(f *testing.F) {
	for _, s := range []string{"/100000/sign_d?host=appmarket.micloud.xiaomi.net", "/d?dn=a.b", "http://x/resolve?name=a.b#f", "/d?host=a.b%2Cc"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		seg, _, name, ok := DNSQuery(b)
		if ok && (len(name) == 0 || len(seg) == 0 || !dnsName(name)) {
			t.Fatalf("%q: ok with segment %q name %q", b, seg, name)
		}
	})
}
