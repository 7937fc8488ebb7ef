package starttls

import "testing"

func TestUpgrade(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want bool
	}{
		{"smtp", "STARTTLS\r\n", true},
		{"smtp lower", "starttls\r\n", true},
		{"smtp after ehlo in one segment", "EHLO laptop.example\r\nSTARTTLS\r\n", true},
		{"imap", "a001 STARTTLS\r\n", true},
		{"pop3", "STLS\r\n", true},
		{"ftp", "AUTH TLS\r\n", true},
		{"ftp ssl", "AUTH SSL\r\n", true},
		{"xmpp", "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", true},
		{"ehlo only", "EHLO laptop.example\r\n", false},
		{"in a mail body", "Subject: how to use STARTTLS\r\n", false},
		{"imap login", "a002 LOGIN ana secret\r\n", false},
		{"http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false},
	} {
		if got := Upgrade([]byte(tc.in)); got != tc.want {
			t.Errorf("%s: Upgrade(%q) = %v", tc.name, tc.in, got)
		}
	}
}

func TestPlain(t *testing.T) {
	if !Plain([]byte("EHLO x\r\n")) || !Plain([]byte("<?xml version='1.0'?><stream:stream to='example.com'>")) {
		t.Error("text protocols not seen as plain")
	}
	if Plain([]byte{0x16, 0x03, 0x01, 0x00, 0x10}) || Plain(nil) {
		t.Error("a TLS record or nothing seen as plain")
	}
}

func FuzzUpgrade(f *testing.F) {
	for _, s := range []string{"STARTTLS\r\n", "a1 STARTTLS", "<starttls/>", "\x16\x03\x01", "STLS"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Upgrade(b)
		_ = Plain(b)
	})
}
