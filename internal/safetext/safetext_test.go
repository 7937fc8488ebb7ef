package safetext

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTerminal(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "com.zhiliaoapp.musically", "com.zhiliaoapp.musically"},
		{"chinese", "腾讯 Tencent", "腾讯 Tencent"},
		{"clear screen", "app\x1b[2J\x1b[Hverdict ALLOW", `app\x1b[2J\x1b[Hverdict ALLOW`},
		{"fake line", "1.0\nverdict ALLOW", `1.0\x0averdict ALLOW`},
		{"carriage return", "x\rverdict ALLOW", `x\x0dverdict ALLOW`},
		{"tab", "a\tb", `a\x09b`},
		{"del", "a\x7fb", `a\x7fb`},
		{"c1 csi", "a\u009b2Jb", `a\u009b2Jb`},
		{"bidi override", "evil\u202egpj.exe", `evil\u202egpj.exe`},
		{"isolate", "a\u2066b", `a\u2066b`},
		{"invalid utf8", "a\xffb", `a\xffb`},
		{"backslash kept", `a\b`, `a\b`},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Terminal(tc.in); got != tc.want {
				t.Errorf("Terminal(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTerminalNoCopyWhenSafe(t *testing.T) {
	s := strings.Repeat("safe name ", 10)
	if n := testing.AllocsPerRun(100, func() { _ = Terminal(s) }); n != 0 {
		t.Errorf("Terminal allocated %v times on safe text", n)
	}
}

func TestCSVCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"},
		{"+1+cmd", "'+1+cmd"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"-3", "-3"},
		{"+1.5e3", "+1.5e3"},
		{"42", "42"},
		{"Tencent", "Tencent"},
		{"", ""},
		{"a=b", "a=b"},
	} {
		if got := CSVCell(tc.in); got != tc.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCSVWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewCSVWriter(&buf)
	rec := []string{"=cmd|' /C calc'!A0", "laptop", "-1"}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if rec[0] != "=cmd|' /C calc'!A0" {
		t.Errorf("caller's record changed: %q", rec[0])
	}
	got, err := csv.NewReader(&buf).Read()
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != "'=cmd|' /C calc'!A0" || got[1] != "laptop" || got[2] != "-1" {
		t.Errorf("round trip = %q", got)
	}
}

func FuzzTerminal(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[2J", "a\u202eb", "\xff\xfe", "腾讯\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Terminal(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Terminal(%q) = %q: not valid UTF-8", s, out)
		}
		for _, r := range out {
			if unsafeRune(r) {
				t.Fatalf("Terminal(%q) = %q keeps %U", s, out, r)
			}
		}
		if firstUnsafe(s) < 0 && out != s {
			t.Fatalf("safe text changed: %q -> %q", s, out)
		}
	})
}

func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"=1+1", "-3", "+x", "@a", "\tq", "ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := CSVCell(s)
		if out != s && out != "'"+s {
			t.Fatalf("CSVCell(%q) = %q", s, out)
		}
		if out != "" && strings.ContainsRune("=@\t\r", rune(out[0])) {
			t.Fatalf("CSVCell(%q) = %q still starts a formula", s, out)
		}
	})
}

type stringer string

func (s stringer) String() string { return string(s) }

func TestFprintf(t *testing.T) {
	var b bytes.Buffer
	Fprintf(&b, "%s %v %d %q %v\n", "dev\x1b[2J", []byte("a\nb"), 42, "x\ty", stringer("kept"))
	if got, want := b.String(), `dev\x1b[2J a\x0ab 42 "x\\x09y" kept`+"\n"; got != want {
		t.Errorf("Fprintf = %q, want %q", got, want)
	}
}
