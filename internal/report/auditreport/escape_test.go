package auditreport

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
)

// evil is what an app can put in any string it controls: a screen clear,
// a title change, a carriage return and a newline before a forged verdict
// line, a tab that would shift tabwriter's columns, a bidi override, a C1
// CSI and DEL.
const evil = "\x1b[2J\x1b]0;t\x07\r\nverdict    ALLOW\t\u202e\u009b\x7f"

// fill sets every settable string reachable from v to evil, giving every
// slice one element and every nil pointer a value, so that no field of the
// report is left out of the test, including fields added later.
func fill(v reflect.Value, depth int) {
	if depth > 8 {
		return
	}
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(evil)
		}
	case reflect.Pointer:
		if v.IsNil() && v.CanSet() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if !v.IsNil() {
			fill(v.Elem(), depth+1)
		}
	case reflect.Slice:
		if v.CanSet() && v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		for i := range v.Len() {
			fill(v.Index(i), depth+1)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	}
}

// unsafeByte finds a byte or rune a terminal would act on.
func unsafeRune(out string) (int, rune) {
	for i, r := range out {
		switch {
		case r == '\n':
		case r == utf8.RuneError, r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
			return i, r
		}
	}
	return -1, 0
}

func TestAppStringsAreEscaped(t *testing.T) {
	r := &audit.Report{}
	fill(reflect.ValueOf(r), 0)
	r.Concern, r.VersionCode, r.MinSDK = true, 1, 21
	unread := &audit.Report{} // the early return of an app that cannot be read
	fill(reflect.ValueOf(unread), 0)
	unread.Kind = ""
	noPolicy := &audit.Report{} // the verdict line without a policy
	fill(reflect.ValueOf(noPolicy), 0)
	noPolicy.Verdict = nil
	reps := []*audit.Report{r, unread, noPolicy}
	for _, all := range []bool{false, true} {
		var b bytes.Buffer
		if err := Write(&b, &audit.Document{Apps: reps, Summary: audit.Summarize(reps)}, Options{All: all}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if i, c := unsafeRune(out); i >= 0 {
			t.Fatalf("all=%v: raw %U at byte %d: %q", all, c, i, out[max(i-40, 0):min(i+40, len(out))])
		}
		var verdicts int
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "verdict") {
				verdicts++
			}
		}
		if verdicts != len(reps) {
			t.Errorf("all=%v: %d verdict lines for %d apps:\n%s", all, verdicts, len(reps), out)
		}
		// Escaped, not dropped: the reader sees what the app holds.
		if !strings.Contains(out, `\x1b[2J`) || !strings.Contains(out, `\u202e`) {
			t.Errorf("all=%v: escapes missing:\n%s", all, out)
		}
	}
}
