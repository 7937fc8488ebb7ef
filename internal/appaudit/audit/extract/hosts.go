package extract

import (
	"bytes"
	"net/netip"
)

// scanURLs calls fn for every http:// or https:// URL in s (scheme matched
// case-insensitively), with the URL as found (up to the first character
// that cannot be in a URL) and its host, lowercased, without port,
// credentials or a trailing dot. URLs whose host is not a plausible name or
// address are skipped.
func scanURLs(s []byte, fn func(url, host []byte)) {
	for len(s) > 0 {
		i := bytes.Index(s, []byte("://"))
		if i < 0 {
			return
		}
		start := i
		for start > 0 && isSchemeByte(s[start-1]) {
			start--
		}
		scheme := s[start:i]
		rest := s[i+3:]
		s = rest
		if !(asciiEqualFold(scheme, "http") || asciiEqualFold(scheme, "https")) {
			continue
		}
		end := 0
		for end < len(rest) && isURLByte(rest[end]) {
			end++
		}
		auth := rest[:end]
		if j := bytes.IndexAny(auth, "/?#"); j >= 0 {
			auth = auth[:j]
		}
		if j := bytes.LastIndexByte(auth, '@'); j >= 0 {
			auth = auth[j+1:]
		}
		host := hostOfAuthority(hostRun(auth))
		if host == nil {
			continue
		}
		url := append(append([]byte{}, scheme...), "://"...)
		url = append(url, rest[:end]...)
		fn(url, host)
	}
}

// hostRun cuts an authority after its host and port: "a.com:80,x" gives
// "a.com:80".
func hostRun(a []byte) []byte {
	i := 0
	if len(a) > 0 && a[0] == '[' {
		j := bytes.IndexByte(a, ']')
		if j < 0 {
			return nil
		}
		i = j + 1
	} else {
		for i < len(a) && (isHostByte(a[i])) {
			i++
		}
	}
	if i < len(a) && a[i] == ':' {
		j := i + 1
		for j < len(a) && a[j] >= '0' && a[j] <= '9' {
			j++
		}
		i = j
	}
	return a[:i]
}

func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

// hostOfAuthority returns the normalised host of "host[:port]" or
// "[v6]:port", or nil when it is not a valid name or address.
func hostOfAuthority(a []byte) []byte {
	if len(a) > 0 && a[0] == '[' {
		j := bytes.IndexByte(a, ']')
		if j < 0 {
			return nil
		}
		if ip, err := netip.ParseAddr(string(a[1:j])); err == nil && ip.Is6() {
			return []byte(ip.String())
		}
		return nil
	}
	if j := bytes.LastIndexByte(a, ':'); j >= 0 {
		a = a[:j]
	}
	a = bytes.TrimSuffix(a, []byte("."))
	if !validHost(a, false) {
		return nil
	}
	return bytes.ToLower(a)
}

// validHost reports whether h is a dotted name of LDH labels (or an IPv4
// address). With strict, every label must start with a letter or digit and
// the last label must be alphabetic, as in a real name.
func validHost(h []byte, strict bool) bool {
	if len(h) < 3 || len(h) > 253 || bytes.IndexByte(h, '.') < 0 {
		return false
	}
	label := 0
	for i, c := range h {
		switch {
		case c == '.':
			if label == 0 || h[i-1] == '-' {
				return false
			}
			label = 0
			continue
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_':
			if label == 0 && strict {
				return false
			}
		default:
			return false
		}
		label++
		if label > 63 {
			return false
		}
	}
	if label == 0 {
		return false
	}
	if _, err := netip.ParseAddr(string(h)); err == nil {
		return true
	}
	last := h[bytes.LastIndexByte(h, '.')+1:]
	for _, c := range last {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !strict && (c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}

// bareHost reports whether a whole string is a hostname an app would
// connect to ("api.weibo.cn"), as opposed to the reversed-domain Java names
// ("com.tencent.mm"), file names ("libfoo.so") and property keys
// ("ro.kernel.qemu") that fill DEX string pools. It is deliberately
// narrow: the last label must be a common top-level domain and the first
// label must not be one.
func bareHost(s []byte) ([]byte, bool) {
	if len(s) < 4 || len(s) > 253 {
		return nil, false
	}
	dot := bytes.LastIndexByte(s, '.')
	if dot <= 0 || !commonTLD[string(s[dot+1:])] {
		return nil, false
	}
	first := s
	if j := bytes.IndexByte(s, '.'); j >= 0 {
		first = s[:j]
	}
	if commonTLD[string(first)] || javaRoots[string(first)] {
		return nil, false
	}
	if !validHost(s, true) {
		return nil, false
	}
	for _, c := range s {
		if c >= 'A' && c <= 'Z' { // Java class names: "Foo.net"
			return nil, false
		}
	}
	return s, true
}

// commonTLD are the top-level domains bare names are accepted under.
var commonTLD = map[string]bool{
	"com": true, "net": true, "org": true, "cn": true, "io": true, "co": true, "me": true,
	"info": true, "biz": true, "tv": true, "cc": true, "us": true, "uk": true, "de": true,
	"jp": true, "kr": true, "ru": true, "hk": true, "tw": true, "sg": true, "in": true,
	"fr": true, "app": true, "dev": true, "xyz": true, "top": true, "mobi": true, "gov": true,
	"edu": true, "ai": true, "la": true, "vn": true, "th": true, "my": true, "ph": true,
	"br": true, "mx": true,
}

// javaRoots are first segments of package names that are not hosts.
var javaRoots = map[string]bool{
	"android": true, "androidx": true, "java": true, "javax": true, "dalvik": true,
	"kotlin": true, "kotlinx": true, "sun": true, "libcore": true, "junit": true,
}

func isSchemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// isURLByte accepts the characters of RFC 3986 plus '%'; whitespace,
// quotes and angle brackets end a URL.
func isURLByte(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	switch c {
	case '-', '.', '_', '~', ':', '/', '?', '#', '[', ']', '@', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', '%':
		return true
	}
	return false
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
