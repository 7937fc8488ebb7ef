package apk

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/outflow-dev/outflow/internal/sharedtest"
)

func sharedDir(tb testing.TB) string {
	tb.Helper()
	return sharedtest.Path(tb, "apk")
}

type expectedFiles struct {
	ManifestPresent bool     `json:"manifest_present"`
	DexFiles        []string `json:"dex_files"`
	NativeLibs      []string `json:"native_libs"`
	Embedded        []string `json:"embedded_apk_jar_dex"`
}

var rootDex = regexp.MustCompile(`^classes\d*\.dex$`)

func TestCorpus(t *testing.T) {
	dir := sharedDir(t)
	for _, s := range sharedtest.Glob(t, "apk", "samples", "*") {
		name := filepath.Base(s)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(sharedtest.Path(t, "apk", "expected", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var want expectedFiles
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			a, err := Open(s, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if wantKind := map[bool]Kind{true: KindAPK, false: KindZIP}[want.ManifestPresent]; a.Kind() != wantKind {
				t.Errorf("kind %v, want %v", a.Kind(), wantKind)
			}
			got := expectedFiles{ManifestPresent: a.Has("AndroidManifest.xml"), DexFiles: []string{}, NativeLibs: []string{}, Embedded: []string{}}
			for _, n := range a.Names() {
				switch {
				case rootDex.MatchString(n):
					got.DexFiles = append(got.DexFiles, n)
				case strings.HasSuffix(n, ".so"):
					got.NativeLibs = append(got.NativeLibs, n)
				}
			}
			var walked []string
			err = a.Walk(func(it Item) error {
				if it.Err != nil {
					t.Errorf("%s: %v", it.Path, it.Err)
					return nil
				}
				if it.Depth == 1 && it.Kind == KindDEX && !rootDex.MatchString(it.Entry) || it.Depth == 1 && it.Kind != KindDEX {
					got.Embedded = append(got.Embedded, it.Entry)
				}
				if it.Kind == KindDEX {
					if !bytes.HasPrefix(it.DEX, []byte("dex\n")) {
						t.Errorf("%s: not a DEX", it.Path)
					}
					walked = append(walked, it.Entry)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range [][]string{got.DexFiles, got.NativeLibs, got.Embedded, want.DexFiles, want.NativeLibs, want.Embedded} {
				sort.Strings(l)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-androguard +ours):\n%s", diff)
			}
			// dexdump opened the same DEX files.
			if hdr, err := os.ReadFile(filepath.Join(dir, "expected", name+".dexdump-header.txt")); err == nil {
				n := strings.Count(string(hdr), "Opened ")
				if n != len(walked) {
					t.Errorf("walk found %d DEX files, dexdump opened %d", len(walked), n)
				}
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(buildZip(f, member{name: "AndroidManifest.xml", data: []byte("m")}, member{name: "classes.dex", data: fakeDex},
		member{name: "assets/a.apk", data: buildZip(f, member{name: "classes.dex", data: fakeDex})}))
	f.Add(buildZip(f, member{name: "x", data: []byte("abc"), method: 99, flags: 1}))
	f.Add(fakeDex)
	// Small real samples (the engine mutates big inputs slowly).
	for _, n := range []string{"androguard_AndroidManifest_ShortName.apk", "meituan_robust_patch.apk"} {
		if p, ok := sharedtest.Optional(f, "apk", "samples", n); ok {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	lim := Limits{MaxEntries: 64, MaxEntrySize: 1 << 20, MaxTotalSize: 4 << 20, MaxDepth: 2}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := NewReader("fuzz", bytes.NewReader(data), int64(len(data)), lim)
		if err != nil {
			return
		}
		for _, e := range a.Entries() {
			a.ReadFile(e.Name)
			// ReadPrefix has no ratio check: its own bound must hold.
			if b, err := a.ReadPrefix(e.Name, 1000); len(b) > 1000 {
				t.Fatalf("ReadPrefix(%q, 1000): %d bytes, %v", e.Name, len(b), err)
			}
		}
		a.Walk(func(it Item) error { return nil })
		a.Base()
	})
}

func BenchmarkOpenWalk(b *testing.B) {
	path := sharedtest.Path(b, "apk", "samples", "tencent_bugly_hotfix_app-release.apk")
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		a, err := NewReader(path, bytes.NewReader(data), int64(len(data)), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Walk(func(Item) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
