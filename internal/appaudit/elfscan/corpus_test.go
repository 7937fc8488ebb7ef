package elfscan

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/sharedtest"
)

type sampleLib struct {
	apk, name string
	data      []byte
}

// corpusLibs returns every .so entry of the shared APK samples, skipping
// the test in a clone without ../shared (see sharedtest).
func corpusLibs(t testing.TB) []sampleLib {
	t.Helper()
	apks := sharedtest.Glob(t, "apk", "samples", "*.apk")
	var out []sampleLib
	for _, a := range apks {
		zr, err := zip.OpenReader(a)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		for _, f := range zr.File {
			if !strings.HasSuffix(f.Name, ".so") {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, sampleLib{filepath.Base(a), f.Name, b})
		}
		zr.Close()
	}
	return out
}

// The .so entries are the native_libs androguard lists.
func TestCorpusLibraryList(t *testing.T) {
	libs := corpusLibs(t)
	got := make(map[string][]string)
	for _, l := range libs {
		got[l.apk] = append(got[l.apk], l.name)
	}
	jsons := sharedtest.Glob(t, "apk", "expected", "*.json")
	for _, j := range jsons {
		raw, err := os.ReadFile(j)
		if err != nil {
			t.Fatal(err)
		}
		var want struct {
			NativeLibs []string `json:"native_libs"`
		}
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		apk := strings.TrimSuffix(filepath.Base(j), ".json")
		g := got[apk]
		sort.Strings(g)
		if !slices.Equal(g, want.NativeLibs) && len(g)+len(want.NativeLibs) > 0 {
			t.Errorf("%s: .so entries %q, oracle native_libs %q", apk, g, want.NativeLibs)
		}
	}
}

// readelfView is what binutils' readelf says about a library.
type readelfView struct {
	sections   []string
	needed     []string
	soname     string
	dynsyms    int
	jni        int
	jniOnLoad  bool
	armArchV7  bool
	armArchSet bool
}

var (
	reSection = regexp.MustCompile(`^\s*\[\s*(\d+)\]\s(.*)$`)
	reNeeded  = regexp.MustCompile(`\(NEEDED\)\s+Shared library: \[(.*)\]`)
	reSOName  = regexp.MustCompile(`\(SONAME\)\s+Library soname: \[(.*)\]`)
	reDynSym  = regexp.MustCompile(`^\s*(\d+):\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)\s*(\S*)`)
	reCPUArch = regexp.MustCompile(`Tag_CPU_arch: (\S+)`)
)

func readelf(t *testing.T, bin, path string) readelfView {
	t.Helper()
	run := func(args ...string) []string {
		out, err := exec.Command(bin, append(args, path)...).Output()
		if err != nil {
			t.Fatalf("readelf %v: %v", args, err)
		}
		var lines []string
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		return lines
	}
	var v readelfView
	for _, l := range run("-S", "-W") {
		m := reSection.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		name := ""
		if m[1] != "0" {
			name = strings.Fields(m[2])[0]
		}
		v.sections = append(v.sections, name)
	}
	for _, l := range run("-d", "-W") {
		if m := reNeeded.FindStringSubmatch(l); m != nil {
			v.needed = append(v.needed, m[1])
		}
		if m := reSOName.FindStringSubmatch(l); m != nil {
			v.soname = m[1]
		}
	}
	for _, l := range run("--dyn-syms", "-W") {
		m := reDynSym.FindStringSubmatch(l)
		if m == nil || m[1] == "0" {
			continue
		}
		v.dynsyms++
		name := strings.SplitN(m[3], "@", 2)[0]
		if m[2] != "UND" && strings.HasPrefix(name, "Java_") {
			v.jni++
		}
		if m[2] != "UND" && name == "JNI_OnLoad" {
			v.jniOnLoad = true
		}
	}
	for _, l := range run("-A") {
		if m := reCPUArch.FindStringSubmatch(l); m != nil {
			v.armArchSet = true
			v.armArchV7 = strings.HasPrefix(m[1], "v7") || strings.HasPrefix(m[1], "v8")
		}
	}
	return v
}

// Every library of the corpus reads cleanly, carries no protector mark
// (the samples are SDK demos, not packed apps), sits in the directory of
// its machine, and agrees with readelf when it is installed.
func TestCorpusAgainstReadelf(t *testing.T) {
	libs := corpusLibs(t)
	bin, err := exec.LookPath("readelf")
	if err != nil {
		t.Log("readelf not installed (apt-get install binutils): checking without the oracle")
	}
	dir := t.TempDir()
	for _, l := range libs {
		t.Run(l.apk+"/"+l.name, func(t *testing.T) {
			info := scanBytes(t, l.name, l.data)
			if info.SectionError != "" || len(info.Problems) > 0 {
				t.Errorf("section error %q, problems %q", info.SectionError, info.Problems)
			}
			if len(info.Marks) != 0 {
				t.Errorf("marks on an unpacked SDK library: %+v", info.Marks)
			}
			if d := PathABI(l.name); d != "" && !info.MatchesDir(d) {
				t.Errorf("ABI %q (machine %v) in directory %q", info.ABI, info.Machine, d)
			}
			if info.DynamicSymbols == 0 || len(info.Needed) == 0 || len(info.Sections) == 0 {
				t.Errorf("empty reading: %d symbols, needed %q, %d sections", info.DynamicSymbols, info.Needed, len(info.Sections))
			}
			if bin == "" {
				return
			}
			p := filepath.Join(dir, "lib.so")
			if err := os.WriteFile(p, l.data, 0o600); err != nil {
				t.Fatal(err)
			}
			want := readelf(t, bin, p)
			if !slices.Equal(info.Sections, want.sections) {
				t.Errorf("sections %q, readelf %q", info.Sections, want.sections)
			}
			if !slices.Equal(info.Needed, want.needed) || info.SOName != want.soname {
				t.Errorf("needed %q soname %q, readelf %q %q", info.Needed, info.SOName, want.needed, want.soname)
			}
			if info.DynamicSymbols != want.dynsyms || info.JNIExports != want.jni || info.JNIOnLoad != want.jniOnLoad {
				t.Errorf("dynsyms %d, JNI %d, JNI_OnLoad %v; readelf %d, %d, %v",
					info.DynamicSymbols, info.JNIExports, info.JNIOnLoad, want.dynsyms, want.jni, want.jniOnLoad)
			}
			if want.armArchSet {
				wantABI := "armeabi"
				if want.armArchV7 {
					wantABI = "armeabi-v7a"
				}
				if info.ABI != wantABI {
					t.Errorf("ABI %q, readelf Tag_CPU_arch says %s", info.ABI, wantABI)
				}
			}
		})
	}
}
