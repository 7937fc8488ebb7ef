package axml

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/outflow-dev/outflow/internal/sharedtest"
)

// realManifests returns the shared malformed manifests and the manifests of
// the sample APKs (none in a clone without ../shared).
func realManifests(tb testing.TB) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	if _, ok := sharedtest.Optional(tb, "apk"); !ok {
		return out
	}
	for _, f := range sharedtest.Glob(tb, "apk", "axml-malformed", "*.xml") {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	for _, f := range sharedtest.Glob(tb, "apk", "samples", "*.apk") {
		if b, ok := readZipEntry(tb, f, "AndroidManifest.xml"); ok {
			out[filepath.Base(f)] = b
		}
	}
	return out
}

// maxSeed keeps the fuzz seeds small: the engine mutates and minimises
// big inputs slowly, and the big real files are covered by the unit tests.
const maxSeed = 16 << 10

func FuzzParse(f *testing.F) {
	f.Add(sampleManifest(false))
	f.Add(sampleManifest(true))
	for _, b := range realManifests(f) {
		if len(b) <= maxSeed {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A prefix of the input (what a size limit leaves) must not panic
		// either, and must agree with the whole input's root.
		pd, perr := ParsePrefix(data[:len(data)*2/3])
		if perr == nil {
			DecodeManifest(pd)
		}
		d, err := Parse(data)
		if err != nil {
			return
		}
		if wd, werr := ParsePrefix(data); werr != nil || wd.Root.Name != d.Root.Name || len(wd.Root.Attrs) != len(d.Root.Attrs) {
			t.Fatalf("ParsePrefix of a whole file Parse accepts: %v", werr)
		}
		m, err := DecodeManifest(d)
		if err != nil {
			return
		}
		m.Resolve(mapResolver{m.Application.LabelRef: "x"})
		for _, c := range m.Activities {
			c.IsExported(m.TargetSDK)
		}
	})
}

func FuzzStringPool(f *testing.F) {
	for _, b := range append([][]byte{sampleManifest(false), sampleManifest(true)}, values(realManifests(f))...) {
		if len(b) > 8 && len(b) <= maxSeed {
			f.Add(b[8:]) // the string pool is the first chunk after the header
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseStringPool(data)
		if err != nil {
			return
		}
		strs, _, err := p.All(0)
		if err != nil {
			return
		}
		total := 0
		for _, s := range strs {
			total += len(s)
		}
		if total > 4*len(data)+64<<10 {
			t.Fatalf("decoded %d bytes from %d", total, len(data))
		}
	})
}

func values(m map[string][]byte) [][]byte {
	var out [][]byte
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func BenchmarkParseManifest(b *testing.B) {
	cases := map[string][]byte{"synthetic": sampleManifest(false)}
	real := realManifests(b)
	for _, name := range []string{"AndroidManifest_InvalidCharsInAttribute.xml", "tencent_bugly_hotfix_app-release.apk"} {
		if d, ok := real[name]; ok {
			cases[name] = d
		}
	}
	for name, data := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParseManifest(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
