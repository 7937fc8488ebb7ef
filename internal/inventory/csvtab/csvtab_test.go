package csvtab

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/inventory"
)

type rec struct {
	Line   int
	Fields []string
	Err    string
}

func readAll(t *testing.T, in string) []rec {
	t.Helper()
	r := NewReader(strings.NewReader(in))
	var out []rec
	for {
		f, line, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			out = append(out, rec{Line: line, Err: err.Error()})
			continue
		}
		s := make([]string, len(f))
		for i := range f {
			s[i] = string(f[i])
		}
		out = append(out, rec{Line: line, Fields: s})
	}
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []rec
	}{
		{"simple", "a,b\n1,2\n", []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", "2"}, ""}}},
		{"no final newline, CRLF", "a,b\r\n1,2", []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", "2"}, ""}}},
		{"blank lines skipped, lines counted", "a,b\n\n  \n1,2\n", []rec{{1, []string{"a", "b"}, ""}, {4, []string{"1", "2"}, ""}}},
		{"quotes", "a,b\n\"x, y\",\"he said \"\"hi\"\"\"\n", []rec{{1, []string{"a", "b"}, ""}, {2, []string{"x, y", `he said "hi"`}, ""}}},
		{"quoted newline", "a,b\n\"line1\r\nline2\",z\n3,4\n", []rec{
			{1, []string{"a", "b"}, ""}, {2, []string{"line1\nline2", "z"}, ""}, {4, []string{"3", "4"}, ""}}},
		{"empty fields", "a,b,c\n,,\n", []rec{{1, []string{"a", "b", "c"}, ""}, {2, []string{"", "", ""}, ""}}},
		{"BOM", "\xef\xbb\xbfa,b\n1,2\n", []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", "2"}, ""}}},
		{"semicolon guessed", "Device;App;Version\nX;com.a,b;1\n", []rec{
			{1, []string{"Device", "App", "Version"}, ""}, {2, []string{"X", "com.a,b", "1"}, ""}}},
		{"tab guessed", "a\tb\n1\t2\n", []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", "2"}, ""}}},
		{"excel sep line", "sep=;\na;b\n1;2\n", []rec{{2, []string{"a", "b"}, ""}, {3, []string{"1", "2"}, ""}}},
		{"sep line not first is data", "\nsep=;\n", []rec{{2, []string{"sep=", ""}, ""}}}, // and ; guessed as the separator
		{"junk after quote, reading goes on", "a,b\n\"x\"y,2\n3,4\n", []rec{
			{1, []string{"a", "b"}, ""}, {2, nil, "field 1: unexpected character after closing quote"}, {3, []string{"3", "4"}, ""}}},
		{"unclosed quote at EOF, next lines read again", "a,b\n1,\"open\n2,3\n", []rec{
			{1, []string{"a", "b"}, ""}, {2, nil, "quoted field not closed before end of input"}, {3, []string{"2", "3"}, ""}}},
		{"stray quote resynchronised at the next line", "a,b\nx,\"stray\n3,4\n5,6\n\"q\"z,8\n9,10\n", []rec{
			{1, []string{"a", "b"}, ""}, {2, nil, "field 2: unexpected character after closing quote"},
			{3, []string{"3", "4"}, ""}, {4, []string{"5", "6"}, ""}, {5, nil, "field 1: unexpected character after closing quote"},
			{6, []string{"9", "10"}, ""}}},
		{"bare quote inside field kept", "a,b\n5\"5,x\n", []rec{{1, []string{"a", "b"}, ""}, {2, []string{`5"5`, "x"}, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, readAll(t, tc.in)); d != "" {
				t.Errorf("records (-want +got):\n%s", d)
			}
		})
	}
}

func TestLongLine(t *testing.T) {
	in := "a,b\n" + strings.Repeat("x", MaxRecord+100) + ",1\n3,4\n"
	got := readAll(t, in)
	if len(got) != 3 || got[1].Err == "" || got[1].Line != 2 || got[2].Line != 3 {
		t.Fatalf("long line not reported and skipped: %d records, second: line %d err %q", len(got), got[1].Line, got[1].Err)
	}
}

func TestNormAndHeader(t *testing.T) {
	h := NewHeader([][]byte{[]byte("\xef\xbb\xbfDevice name"), []byte("User_Principal-Name"), []byte("Application (Bundle) ID")})
	if d := cmp.Diff([]string{"devicename", "userprincipalname", "applicationbundleid"}, h.Names); d != "" {
		t.Errorf("Names (-want +got):\n%s", d)
	}
	if h.Index("nope", "userprincipalname") != 1 || h.Has("x") {
		t.Error("Index/Has wrong")
	}
	if Field(nil, 3) != nil || Field([][]byte{[]byte(" a ")}, 0) == nil {
		t.Error("Field wrong")
	}
}

func TestScan(t *testing.T) {
	in := "app,dev\ncom.a,d1\nbad\ncom.b,d2\nskip,me\n\"open,d3\ncom.c,d4\n\"x\",d5,extra\n"
	var got []string
	ic := inventory.NewInterner(0)
	err := Scan(context.Background(), strings.NewReader(in), "t.csv", inventory.FormatPlainCSV, ic,
		func(it inventory.Item, err error) error {
			if err != nil {
				got = append(got, "ERR "+err.Error())
				return nil
			}
			got = append(got, it.Device+" "+it.AppID+" "+it.Source)
			return nil
		},
		func(h Header) (RowFunc, error) {
			a, d := h.Index("app"), h.Index("dev")
			return func(f [][]byte, line int) (inventory.Item, bool, error) {
				if string(f[a]) == "skip" {
					return inventory.Item{}, false, nil
				}
				return inventory.Item{AppID: string(f[a]), Device: string(f[d])}, true, nil
			}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	// Line 6 opens a quote that the first quote of line 8 closes, followed
	// by junk: reported at line 6, and lines 7 and 8 read again on their own.
	want := []string{"d1 com.a t.csv:2", "ERR inventory: csv: t.csv:3: record has 1 fields, header has 2", "d2 com.b t.csv:4",
		"ERR inventory: csv: t.csv:6: field 1: unexpected character after closing quote", "d4 com.c t.csv:7",
		"ERR inventory: csv: t.csv:8: record has 3 fields, header has 2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	// A quoted newline that makes a well-formed record of the wrong width:
	// the continuation line is read again as its own record.
	got = nil
	err = Scan(context.Background(), strings.NewReader("app,dev\n\"a\nb\",c,d\ncom.e,d5\n"), "w.csv", inventory.FormatPlainCSV, ic,
		func(it inventory.Item, err error) error {
			if err != nil {
				got = append(got, "ERR "+err.Error())
				return nil
			}
			got = append(got, it.Device+" "+it.AppID+" "+it.Source)
			return nil
		},
		func(h Header) (RowFunc, error) {
			return func(f [][]byte, line int) (inventory.Item, bool, error) {
				return inventory.Item{AppID: string(f[0]), Device: string(f[1])}, true, nil
			}, nil
		})
	want = []string{"ERR inventory: csv: w.csv:2: record has 3 fields, header has 2",
		"ERR inventory: csv: w.csv:3: record has 3 fields, header has 2", "d5 com.e w.csv:4"}
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	stop := errors.New("stop")
	err = Scan(context.Background(), strings.NewReader(in), "t.csv", inventory.FormatPlainCSV, ic,
		func(inventory.Item, error) error { return stop },
		func(Header) (RowFunc, error) {
			return func([][]byte, int) (inventory.Item, bool, error) { return inventory.Item{}, true, nil }, nil
		})
	if err != stop {
		t.Errorf("visit error not returned: %v", err)
	}
	err = Scan(context.Background(), strings.NewReader(""), "empty.csv", inventory.FormatPlainCSV, ic,
		func(inventory.Item, error) error { return nil }, nil)
	if err == nil || !strings.Contains(err.Error(), "empty.csv") {
		t.Errorf("empty input: %v", err)
	}
}

// FuzzRead checks the Reader never panics and agrees with encoding/csv on
// every input that encoding/csv accepts and that uses none of the
// conveniences encoding/csv lacks (BOM, sep= line, blank-looking lines).
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "\"x\"\"y\",\"multi\nline\"\n", "a,\"b\nc", "\"x\"y,1\n", "sep=;\na;b\n",
		"Device name,Application name\r\nLAPTOP-1,\"WeChat, Tencent\"\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		r.Comma = ','
		var mine [][]string
		clean := true
		for n := 0; n < 10000; n++ {
			fields, _, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				clean = false
				continue
			}
			rec := make([]string, len(fields))
			for i := range fields {
				rec[i] = string(fields[i])
			}
			mine = append(mine, rec)
		}
		if !clean || bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) || bytes.HasPrefix(data, []byte("sep=")) ||
			bytes.ContainsRune(data, '\r') {
			return
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(l) > 0 && len(bytes.TrimSpace(l)) == 0 {
				return
			}
		}
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		theirs, err := cr.ReadAll()
		if err != nil {
			return
		}
		if d := cmp.Diff(theirs, mine, cmp.Comparer(func(a, b []string) bool { return cmp.Equal(a, b) })); len(theirs)+len(mine) > 0 && d != "" {
			t.Errorf("differs from encoding/csv (-csv +mine):\n%s", d)
		}
	})
}
