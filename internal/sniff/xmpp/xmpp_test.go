package xmpp

import (
	"bytes"
	"errors"
	"testing"
)

// Headers as clients send them: Smack (Android), Pidgin/libpurple,
// Gajim, and Xiaomi's push SDK (its own namespace, extra attributes).
var samples = []string{
	"<?xml version='1.0' encoding='UTF-8'?><stream:stream to='example.com' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en'>",
	"<?xml version='1.0' ?><stream:stream to='jabber.org' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
	"<?xml version=\"1.0\"?>\n<stream:stream xmlns=\"jabber:client\" xmlns:stream=\"http://etherx.jabber.org/streams\" version=\"1.0\" to=\"conversations.im\" xml:lang=\"en\">",
	"<stream:stream xmlns=\"xm\" xmlns:stream=\"xm\" to=\"xiaomi.com\" version=\"105\" model=\"MI 8\" os=\"10-V12\" connpt=\"WIFI-ID_UNKNOWN\" host=\"\" locale=\"en_US\">",
}

func TestStreamTo(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		err            error
	}{
		{"smack", samples[0], "example.com", nil},
		{"libpurple", samples[1], "jabber.org", nil},
		{"double quotes, to late, newline", samples[2], "conversations.im", nil},
		{"xiaomi push, no declaration", samples[3], "xiaomi.com", nil},
		{"leading space and BOM", "\r\n\xef\xbb\xbf <stream:stream\tto = 'a.b.example' >", "a.b.example", nil},
		{"trailing dot dropped", "<stream:stream to='example.org.'>", "example.org", nil},
		{"self-closed", "<stream:stream to='example.org'/>", "example.org", nil},
		{"upper case kept", "<stream:stream to='Talk.Example.COM'>", "Talk.Example.COM", nil},

		{"no to", "<stream:stream xmlns='jabber:client' version='1.0'>", "", ErrNoTo},
		{"empty to", "<stream:stream to=''>", "", ErrNoTo},
		{"ipv4 literal", "<stream:stream to='192.0.2.7'>", "", ErrNoTo},
		{"ipv6 literal", "<stream:stream to='[2001:db8::1]'>", "", ErrNoTo},
		{"a JID, not a domain", "<stream:stream to='user@example.com/res'>", "", ErrNoTo},
		{"entity reference", "<stream:stream to='ex&amp;ample.com'>", "", ErrNoTo},
		{"empty label", "<stream:stream to='example..com'>", "", ErrNoTo},
		{"internationalized, as A-labels", "<stream:stream to='b\xc3\xbccher.example'>", "xn--bcher-kva.example", nil},
		{"internationalized, upper case folded", "<stream:stream to='B\xc3\x9cCHER.example'>", "xn--bcher-kva.example", nil},
		{"internationalized, Japanese", "<stream:stream to='\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88'>", "xn--r8jz45g.xn--zckzah", nil},
		{"not UTF-8", "<stream:stream to='b\xfccher.example'>", "", ErrNoTo},
		{"internationalized, disallowed", "<stream:stream to='a\xe2\x80\xa8b.example'>", "", ErrNoTo},

		{"to twice", "<stream:stream to='a.example' to='b.example'>", "", ErrNotXMPP},
		{"unquoted value", "<stream:stream to=example.com>", "", ErrNotXMPP},
		{"no space between attributes", "<stream:stream to='a.example'xmlns='x'>", "", ErrNotXMPP},
		{"< in a value", "<stream:stream to='a<b'>", "", ErrNotXMPP},
		{"another element", "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", "", ErrNotXMPP},
		{"longer element name", "<stream:streams to='example.com'>", "", ErrNotXMPP},
		{"HTTP", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "", ErrNotXMPP},
		{"SMTP", "EHLO laptop\r\n", "", ErrNotXMPP},
		{"TLS", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "", ErrNotXMPP},
		{"MQTT", "\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04abcd", "", ErrNotXMPP},
		{"other declaration then text", "<?xml version='1.0'?>hello", "", ErrNotXMPP},

		{"empty", "", "", ErrNeedMore},
		{"only white space", " \r\n", "", ErrNeedMore},
		{"declaration cut", "<?xml vers", "", ErrNeedMore},
		{"declaration alone", "<?xml version='1.0'?>", "", ErrNeedMore},
		{"element name cut", "<?xml version='1.0'?><stream:str", "", ErrNeedMore},
		{"value cut", "<stream:stream to='exam", "", ErrNeedMore},
		{"before the closing >", "<stream:stream to='example.com' ", "", ErrNeedMore},
		{"after /", "<stream:stream to='example.com'/", "", ErrNeedMore},
		{"too long", "<stream:stream x='" + string(bytes.Repeat([]byte("a"), MaxHeader)) + "' to='example.com'>", "", ErrNotXMPP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := StreamTo([]byte(tc.in))
			if !errors.Is(err, tc.err) || string(got) != tc.want {
				t.Errorf("StreamTo(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

// A header cut anywhere asks for more, and reads whole once the rest is
// appended, as the tracker does across segments.
func TestStreamToEveryCut(t *testing.T) {
	for _, s := range samples {
		for i := 0; i < len(s); i++ {
			if _, err := StreamTo([]byte(s[:i])); !errors.Is(err, ErrNeedMore) {
				t.Fatalf("cut at %d of %q: %v, want ErrNeedMore", i, s, err)
			}
		}
	}
}

func TestStreamToAllocs(t *testing.T) {
	b := []byte(samples[0])
	if n := testing.AllocsPerRun(100, func() { _, _ = StreamTo(b) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func BenchmarkStreamTo(b *testing.B) {
	in := []byte(samples[0])
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := StreamTo(in); err != nil {
			b.Fatal(err)
		}
	}
}

// Rejecting input is fine, panicking is not; a name returned is a
// sub-slice of the input, a valid host name, and never needs more than
// MaxHeader bytes to be found.
func FuzzStreamTo(f *testing.F) {
	for _, s := range samples {
		f.Add([]byte(s))
	}
	f.Add([]byte("<stream:stream to='a.example'/>"))
	f.Add([]byte("<?xml version='1.0'?>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		to, err := StreamTo(b)
		if errors.Is(err, ErrNeedMore) && len(b) >= MaxHeader {
			t.Fatalf("ErrNeedMore at %d bytes", len(b))
		}
		if err != nil {
			if to != nil {
				t.Fatalf("a name %q with %v", to, err)
			}
			return
		}
		if len(to) == 0 || len(to) > 253 || !bytes.Contains(b, to) {
			t.Fatalf("name %q not in the input", to)
		}
		if again, err := checkTo(to, true); err != nil || !bytes.Equal(again, to) {
			t.Fatalf("name %q does not check: %v", to, err)
		}
	})
}
