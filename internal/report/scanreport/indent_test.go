package scanreport

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// FuzzAppendIndent: for any JSON the encoder writes (the input compacted,
// and its final newline), appendIndent gives json.Indent's bytes.
func FuzzAppendIndent(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":"c,d:{}[]\"\\"}],"e":{},"f":[],"g":null}`, `"x"`, `[[],[{}],{"":""}]`,
		`{"s":"\u003c\u2028é"}`, `-1.5e+10`, `[true,false]`} {
		f.Add([]byte(s), "    ")
	}
	f.Fuzz(func(t *testing.T, in []byte, prefix string) {
		if !json.Valid(in) {
			return
		}
		var c bytes.Buffer
		if err := json.Compact(&c, in); err != nil {
			t.Fatal(err)
		}
		c.WriteByte('\n')
		var want bytes.Buffer
		if err := json.Indent(&want, c.Bytes(), prefix, "  "); err != nil {
			t.Fatal(err)
		}
		if got := appendIndent(nil, c.Bytes(), prefix, "  "); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%q:\n got %q\nwant %q", c.Bytes(), got, want.Bytes())
		}
	})
}

// BenchmarkIndent indents the compact JSON of a scan report's devices
// (OUTFLOW_BENCH_JSON, a report as outflow scan --json writes it; the
// fuzz seeds otherwise) with json.Indent and with appendIndent.
func BenchmarkIndent(b *testing.B) {
	src := []byte(`{"address":"10.0.0.1","mac":"ec:b1:d7:84:c2:72","vendor":null,"exposures":[{"entity":"tiktok","lists":[],"evidence":[{"kind":"sni","value":"a.tiktokcdn.com"}]}],"other":{"bytes_out":7072,"bytes_in":0,"packets_out":6,"packets_in":0,"flows":1},"bypass":[]}` + "\n")
	if p := os.Getenv("OUTFLOW_BENCH_JSON"); p != "" {
		raw, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, raw); err != nil {
			b.Fatal(err)
		}
		src = append(c.Bytes(), '\n')
	}
	b.Run("json.Indent", func(b *testing.B) {
		var dst bytes.Buffer
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			dst.Reset()
			if err := json.Indent(&dst, src, "    ", "  "); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendIndent", func(b *testing.B) {
		var dst []byte
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			dst = appendIndent(dst[:0], src, "    ", "  ")
		}
	})
}
