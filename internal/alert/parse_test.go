package alert

import (
	"fmt"
	"regexp"
	"strings"
)

// The receivers' side, written from the RFCs: what a SIEM would parse.

type syslogMsg struct {
	pri                                int
	ts, host, app, procid, msgid, sdid string
	params                             map[string][]string
	msg                                string
}

var header5424 = regexp.MustCompile(`^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) `)

func parse5424(s string) (*syslogMsg, error) {
	m := header5424.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("not RFC 5424: %q", s)
	}
	out := &syslogMsg{ts: m[2], host: m[3], app: m[4], procid: m[5], msgid: m[6], params: map[string][]string{}}
	fmt.Sscan(m[1], &out.pri)
	rest := s[len(m[0]):]
	if strings.HasPrefix(rest, "- ") {
		out.msg = rest[2:]
		return out, nil
	}
	if !strings.HasPrefix(rest, "[") {
		return nil, fmt.Errorf("no structured data: %q", rest)
	}
	i := strings.IndexAny(rest, " ]")
	if i < 0 {
		return nil, fmt.Errorf("unterminated SD-ID")
	}
	out.sdid = rest[1:i]
	rest = rest[i:]
	for strings.HasPrefix(rest, " ") {
		rest = rest[1:]
		eq := strings.Index(rest, `="`)
		if eq < 0 {
			return nil, fmt.Errorf("bad param at %q", rest)
		}
		name := rest[:eq]
		rest = rest[eq+2:]
		var v strings.Builder
		j := 0
		for ; j < len(rest) && rest[j] != '"'; j++ {
			if rest[j] == '\\' && j+1 < len(rest) && strings.IndexByte(`"\]`, rest[j+1]) >= 0 {
				j++
			} else if rest[j] == ']' {
				return nil, fmt.Errorf("unescaped ] in %s", name)
			}
			v.WriteByte(rest[j])
		}
		if j == len(rest) {
			return nil, fmt.Errorf("unterminated value of %s", name)
		}
		out.params[name] = append(out.params[name], v.String())
		rest = rest[j+1:]
	}
	if !strings.HasPrefix(rest, "] ") {
		return nil, fmt.Errorf("SD not closed: %q", rest)
	}
	out.msg = rest[2:]
	return out, nil
}

type cefMsg struct {
	header []string // version through severity, unescaped
	ext    map[string]string
}

// parseCEF splits the header on unescaped pipes and the extension on the
// spaces before key=, unescaping both.
func parseCEF(s string) (*cefMsg, error) {
	if !strings.HasPrefix(s, "CEF:") {
		return nil, fmt.Errorf("not CEF: %q", s)
	}
	s = s[4:]
	out := &cefMsg{ext: map[string]string{}}
	var f strings.Builder
	i := 0
	for ; i < len(s) && len(out.header) < 7; i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '\\' || s[i+1] == '|'):
			i++
			f.WriteByte(s[i])
		case c == '\\':
			return nil, fmt.Errorf("bad header escape at %d", i)
		case c == '|':
			out.header = append(out.header, f.String())
			f.Reset()
		default:
			f.WriteByte(c)
		}
	}
	if len(out.header) != 7 {
		return nil, fmt.Errorf("%d header fields", len(out.header))
	}
	ext := s[i:]
	keyAt := regexp.MustCompile(`(?:^| )([A-Za-z0-9]+)=`)
	locs := keyAt.FindAllStringSubmatchIndex(ext, -1)
	var real [][]int
	for _, l := range locs {
		// a key= preceded by an odd run of backslashes is escaped text
		n := 0
		for k := l[2] - 1; k >= 0 && ext[k] == '\\'; k-- {
			n++
		}
		if l[0] == 0 || n%2 == 0 && (l[0] == 0 || !escapedAt(ext, l[0])) {
			real = append(real, l)
		}
	}
	for k, l := range real {
		end := len(ext)
		if k+1 < len(real) {
			end = real[k+1][0]
		}
		v, err := unescapeExt(ext[l[1]:end])
		if err != nil {
			return nil, err
		}
		out.ext[ext[l[2]:l[3]]] = v
	}
	return out, nil
}

// escapedAt reports whether the byte at i is preceded by an odd run of
// backslashes.
func escapedAt(s string, i int) bool {
	n := 0
	for k := i - 1; k >= 0 && s[k] == '\\'; k-- {
		n++
	}
	return n%2 == 1
}

func unescapeExt(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			return "", fmt.Errorf("raw = in value %q", s)
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("trailing backslash in %q", s)
		}
		i++
		switch s[i] {
		case '\\', '=':
			b.WriteByte(s[i])
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			return "", fmt.Errorf("bad escape \\%c", s[i])
		}
	}
	return b.String(), nil
}
