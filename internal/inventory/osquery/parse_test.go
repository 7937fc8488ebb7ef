package osquery

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/invtest"
)

func at(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

func TestResultLog(t *testing.T) {
	data, err := os.ReadFile("testdata/results.log")
	if err != nil {
		t.Fatal(err)
	}
	items, errs, err := invtest.Parse(t, Parser{}, data, "results.log")
	if err != nil {
		t.Fatal(err)
	}
	mac := inventory.Item{Device: "C02XK1ZZJGH5", DeviceName: "mbp-alice.corp.example", Owner: "alice",
		Platform: "macos", Kind: "app", Source: "results.log:1", Seen: at(1748856600)}
	win := inventory.Item{Device: "LAPTOP-042", Platform: "windows", Kind: "program", AppID: "WeChat", Name: "WeChat",
		Version: "3.9.12.17", Publisher: "Tencent"}
	with := func(base inventory.Item, f func(*inventory.Item)) inventory.Item { f(&base); return base }
	want := []inventory.Item{
		with(mac, func(it *inventory.Item) {
			it.AppID, it.Name, it.Version = "com.zhiliaoapp.musically", "TikTok", "34.5.3"
		}),
		with(mac, func(it *inventory.Item) { it.AppID, it.Name, it.Version = "com.tencent.xinWeChat", "WeChat", "3.8.9" }),
		with(mac, func(it *inventory.Item) { it.Name, it.Version = "Helper", "1.0" }),
		with(win, func(it *inventory.Item) { it.Source, it.Seen = "results.log:2", at(1748856660) }),
		with(win, func(it *inventory.Item) { it.Source, it.Seen, it.Removed = "results.log:3", at(1748860260), true }),
		{Device: "build-07", Platform: "linux", Kind: "package", AppID: "wemeet", Name: "wemeet", Version: "3.19.0.401",
			Publisher: "Tencent Meeting <wemeet@tencent.com>", Source: "results.log:4", Seen: at(1748862000)},
		{Device: "build-07", Platform: "linux", Kind: "package", AppID: "zoom", Name: "zoom", Version: "6.0.2.4680",
			Publisher: "Zoom Video Communications <support@zoom.us>", Source: "results.log:4", Seen: at(1748862000), Removed: true},
		{Device: "rhel-db-1", Platform: "linux", Kind: "package", AppID: "bash", Name: "bash", Version: "5.1.8-9.el9",
			Publisher: "Red Hat, Inc.", Source: "results.log:5", Seen: at(1748862300)},
		{Device: "rhel-db-1", Platform: "linux", Kind: "package", AppID: "dingtalk", Name: "dingtalk", Version: "7.5.0",
			Publisher: "Alibaba", Source: "results.log:5", Seen: at(1748862300)},
		{Device: "LAPTOP-042", Owner: "alice", Platform: "chrome", Kind: "extension", AppID: "ifbjdfmjbpjnkejmgfmenkkjkmlbfkco",
			Name: "Temu Price Tracker", Version: "1.2.0", Source: "results.log:6", Seen: at(1748862600)},
		{Device: "build-07", Platform: "firefox", Kind: "extension", AppID: "uBlock0@raymondhill.net", Name: "uBlock Origin",
			Version: "1.58.0", Publisher: "Raymond Hill", Source: "results.log:7", Seen: at(1748862900)},
		{Device: "build-07", Platform: "linux", Kind: "package", AppID: "osquery", Name: "osquery", Version: "5.12.1",
			Source: "results.log:8", Seen: at(1748863000)},
		{Device: "build-07", Platform: "linux", Kind: "package", AppID: "curl", Name: "curl", Version: "7.81.0-1ubuntu1.16",
			Source: "results.log:8", Seen: at(1748863000)},
		{Device: "PF3ABCD1", Platform: "windows", Kind: "program", AppID: "Lark", Name: "Lark", Version: "7.20",
			Publisher: "Beijing Feishu Technology", Source: "results.log:12", Seen: at(1748863300)},
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "inventory: osquery: results.log:11: ") {
		t.Errorf("errors = %q, want one at results.log:11", errs)
	}
}

func TestOsqueryiArray(t *testing.T) {
	data, err := os.ReadFile("testdata/MBP-ALICE.json")
	if err != nil {
		t.Fatal(err)
	}
	items, errs, err := invtest.Parse(t, Parser{}, data, "testdata/MBP-ALICE.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.Item{
		{Device: "MBP-ALICE", Platform: "macos", Kind: "app", AppID: "com.google.Chrome", Name: "Google Chrome",
			Version: "125.0.6422.142", Source: "testdata/MBP-ALICE.json:2"},
		{Device: "MBP-ALICE", Platform: "macos", Kind: "app", AppID: "com.xingin.discover", Name: "小红书",
			Version: "8.40", Source: "testdata/MBP-ALICE.json:3"},
		{Device: "MBP-ALICE", Platform: "macos", Kind: "app", AppID: "com.tencent.meeting", Name: "TencentMeeting",
			Version: "3.26.1", Source: "testdata/MBP-ALICE.json:5"},
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "inventory: osquery: testdata/MBP-ALICE.json:4: ") {
		t.Errorf("errors = %q, want one at line 4", errs)
	}
}

func TestJoinedArrayWithTableHeader(t *testing.T) {
	data, err := os.ReadFile("testdata/joined.json")
	if err != nil {
		t.Fatal(err)
	}
	items, errs, err := invtest.Parse(t, Parser{}, data, "joined.json")
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	want := []inventory.Item{
		{Device: "WS-0193", Platform: "windows", Kind: "program", AppID: "Alipay", Name: "Alipay", Version: "10.5.1", Source: "joined.json:3"},
		{Device: "WS-0193", Platform: "windows", Kind: "program", AppID: "Kingsoft WPS Office", Name: "Kingsoft WPS Office",
			Version: "12.1.0.17827", Source: "joined.json:4"},
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
}

func TestEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name, file, in string
		items          int
		errs           []string // substrings, in order
	}{
		{"empty", "e.log", "", 0, nil},
		{"blank lines", "e.log", "\n\n  \n", 0, nil},
		{"array after blank lines", "h.json", "\n\n[{\"bundle_identifier\":\"a\",\"name\":\"A.app\"}]\n", 1, nil},
		{"unclosed array", "h.json", "[{\"bundle_identifier\":\"a\"}", 1, []string{"h.json:1: JSON array not closed"}},
		{"unclosed row", "h.json", "[\n{\"bundle_identifier\":\"a\"", 0, []string{"h.json:2: row object not closed"}},
		{"junk in array", "h.json", "[\nxx\n{\"bundle_identifier\":\"a\"}]", 1, []string{"h.json:2: unexpected 'x'"}},
		{"data after array", "h.json", "[]\n]", 0, []string{"h.json:2: data after the JSON array"}},
		{"no device on stdin", "-", `[{"bundle_identifier":"a"}]`, 0, []string{"-:1: no device"}},
		{"header device", "-", "# device: SERIAL9\n[{\"bundle_identifier\":\"a\"}]", 1, nil},
		{"bad seen header", "-", "# seen: soon\n", 0, []string{"-:1: header \"seen\""}},
		{"not an object", "x.log", "42\n", 0, []string{"x.log:1: offset 0"}},
		{"trailing garbage", "x.log", `{"hostIdentifier":"h","snapshot":[]} x` + "\n", 0, []string{"x.log:1: "}},
		{"bad escape", "x.log", `{"hostIdentifier":"h\q","snapshot":[]}` + "\n", 0, []string{"bad escape"}},
		{"tie skipped", "x.log", `{"hostIdentifier":"h","snapshot":[{"maintainer":"m","vendor":"v"}]}` + "\n", 0, nil},
		{"row without id or name", "x.log", `{"hostIdentifier":"h","name":"apps","snapshot":[{"path":"/x"}]}` + "\n", 0,
			[]string{"x.log:1: apps row without identifier or name"}},
		{"decoration tags", "x.log", `{"hostIdentifier":"h","decorations":{"tags":"a, b"},"snapshot":[{"publisher":"p","name":"n"}]}` + "\n", 1, nil},
		{"fleetctl query", "x.log", `{"host":"h","rows":[{"bundle_identifier":"a","name":"A.app"}]}` + "\n", 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) { invtest.Count(t, Parser{}, tc.in, tc.file, tc.items, tc.errs) })
	}
}

func TestTagsFromDecorations(t *testing.T) {
	in := `{"hostIdentifier":"h","decorations":{"tags":"a, b"},"snapshot":[{"publisher":"p","name":"n"},{"publisher":"p","name":"m"}]}` + "\n"
	items, _, _ := invtest.Parse(t, Parser{}, []byte(in), "x")
	if len(items) != 2 || !cmp.Equal(items[0].Tags, []string{"a", "b"}) {
		t.Fatalf("items = %+v", items)
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name, head string
		min, max   int
	}{
		{"differential", `{"name":"q","hostIdentifier":"h","columns":{},"action":"added"}`, 90, 100},
		{"columns only", `{"columns":{"name":"x"},"action":"added"}`, 90, 100},
		{"osqueryi", "[\n  {\"bundle_identifier\":\"a\",\"name\":\"A.app\"},\n", 90, 100},
		{"header then array", "# device: x\n[{\"identifying_number\":\"{x}\"}]", 90, 100},
		{"ios json array", `[{"Identifier":"com.a","Name":"A"}]`, 0, 0},
		{"intune json", `{"DeviceName":"x"}`, 0, 0},
		{"csv", "device,app_id\n", 0, 0},
		{"fleetctl", `{"host":"h","rows":[]}`, 80, 80},
		{"empty", "", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Parser{}).Sniff([]byte(tc.head)); got < tc.min || got > tc.max {
				t.Errorf("Sniff = %d, want %d..%d", got, tc.min, tc.max)
			}
		})
	}
}

// TestScannerAgreesWithEncodingJSON checks the hand-written scanner against
// encoding/json on every line of the fixtures.
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	data, err := os.ReadFile("testdata/results.log")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(line) > 0 {
			checkAgainstStd(t, line, i+1)
		}
	}
}

// checkAgainstStd: when encoding/json accepts a line, the scanner must
// accept it too, and read the same scalar members at top level and in
// "decorations" and "columns".
func checkAgainstStd(t *testing.T, line []byte, n int) {
	t.Helper()
	var std map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if !json.Valid(line) || dec.Decode(&std) != nil {
		return
	}
	var s scanner
	s.reset(line)
	got := map[string]string{}
	seen := map[string]bool{}
	dup := false
	err := s.object(1, func(k []byte) error {
		key := string(k)
		dup = dup || seen[utf(key)]
		seen[utf(key)] = true
		switch s.peek() {
		case '{':
			if key != "decorations" && key != "columns" {
				return s.skip(2)
			}
			row, err := s.flat(2, nil)
			for _, m := range row {
				k := utf(key + "." + string(m.k))
				dup = dup || seen[k]
				seen[k] = true
				got[k] = utf(string(m.v))
			}
			return err
		case '[':
			return s.skip(2)
		}
		v, _, err := s.scalar()
		got[utf(key)] = utf(string(v))
		return err
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		t.Fatalf("line %d: encoding/json accepts, scanner says %v", n, err)
	}
	if dup {
		return // encoding/json keeps the last of duplicate names; osquery never writes any
	}
	want := map[string]string{}
	for k, v := range std {
		switch v := v.(type) {
		case map[string]any:
			if k == "decorations" || k == "columns" {
				for k2, v2 := range v {
					if s, ok := scalarText(v2); ok {
						want[k+"."+k2] = s
					}
				}
			}
		case []any:
		default:
			want[k], _ = scalarText(v)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("line %d: scanner differs from encoding/json (-std +scanner):\n%s", n, d)
	}
}

// utf replaces each invalid UTF-8 byte with U+FFFD, as encoding/json does
// (the scanner passes bytes through unchecked).
func utf(s string) string { return string([]rune(s)) }

func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case nil:
		return "", true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	case json.Number:
		return string(v), true
	}
	return "", false
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/results.log", "testdata/MBP-ALICE.json", "testdata/joined.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"hostIdentifier":"h\ud83d\ude00\u00e9\ud800x","snapshot":[{"bundle_identifier":"a"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, _, err := invtest.Parse(t, Parser{}, data, "fuzz.log")
		if err != nil {
			t.Fatalf("Parse returned %v on in-memory input", err)
		}
		for _, it := range items {
			if it.Device == "" || (it.AppID == "" && it.Name == "") || !strings.HasPrefix(it.Source, "fuzz.log:") {
				t.Fatalf("bad item %+v", it)
			}
		}
		if bytes.IndexByte(data, '\n') < 0 && len(data) > 0 && data[0] == '{' {
			checkAgainstStd(t, data, 1)
		}
	})
}
