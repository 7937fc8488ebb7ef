package dex_test

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/outflow-dev/outflow/internal/appaudit/dex"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

// corpusOrSkip returns the shared APK corpus, ../shared/testdata/apk: it
// skips in a clone without ../shared and fails where ../shared lacks it.
func corpusOrSkip(t testing.TB) string {
	t.Helper()
	sharedtest.Path(t, "apk", "expected")
	return sharedtest.Path(t, "apk")
}

// oracle is the part of expected/NAME.json (androguard 3.4 via oracle.py)
// that concerns DEX files.
type oracle struct {
	DexFiles      []string       `json:"dex_files"`
	ClassCount    int            `json:"class_count"`
	StringCount   int            `json:"string_count"`
	PrefixCounts  map[string]int `json:"sdk_prefix_class_counts"`
	APIStrings    []string       `json:"api_strings_present"`
	URLHostsInDex []string       `json:"url_hosts_in_dex"`
}

// oracleTables reads the PREFIXES and STRINGS dictionaries out of
// oracle.py, so the test follows the oracle when it changes.
func oracleTables(t *testing.T, dir string) (prefixes, apiStrings map[string]string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "oracle.py"))
	if err != nil {
		t.Fatal(err)
	}
	block := func(name string) map[string]string {
		start := strings.Index(string(src), name+" = {")
		if start < 0 {
			t.Fatalf("oracle.py: no %s table", name)
		}
		end := strings.Index(string(src[start:]), "\n}")
		m := make(map[string]string)
		re := regexp.MustCompile(`"([^"]+)":\s*"([^"]+)"`)
		for _, g := range re.FindAllStringSubmatch(string(src[start:start+end]), -1) {
			m[g[1]] = g[2]
		}
		if len(m) == 0 {
			t.Fatalf("oracle.py: empty %s table", name)
		}
		return m
	}
	return block("PREFIXES"), block("STRINGS")
}

type sampleDex struct {
	name string
	data []byte
}

// readDexEntries returns the entries androguard lists as DEX files
// (^classes\d*\.dex$), in name order.
func readDexEntries(t testing.TB, apk string) []sampleDex {
	t.Helper()
	zr, err := zip.OpenReader(apk)
	if err != nil {
		t.Fatalf("%s: %v", apk, err)
	}
	defer zr.Close()
	re := regexp.MustCompile(`^classes\d*\.dex$`)
	var out []sampleDex
	for _, f := range zr.File {
		if !re.MatchString(f.Name) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("%s: %s: %v", apk, f.Name, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %s: %v", apk, f.Name, err)
		}
		out = append(out, sampleDex{f.Name, b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// pyDecode decodes bytes as Python's bytes.decode("utf-8", "replace") does
// (one U+FFFD per maximal invalid subpart), which is how oracle.py turns
// androguard's raw MUTF-8 strings into text.
func pyDecode(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			sb.WriteByte(c)
			i++
			continue
		}
		var need int
		lo, hi := byte(0x80), byte(0xbf)
		switch {
		case c >= 0xc2 && c <= 0xdf:
			need = 1
		case c == 0xe0:
			need, lo = 2, 0xa0
		case c >= 0xe1 && c <= 0xec, c == 0xee, c == 0xef:
			need = 2
		case c == 0xed:
			need, hi = 2, 0x9f
		case c == 0xf0:
			need, lo = 3, 0x90
		case c >= 0xf1 && c <= 0xf3:
			need = 3
		case c == 0xf4:
			need, hi = 3, 0x8f
		default:
			sb.WriteRune(utf8.RuneError)
			i++
			continue
		}
		k := 1
		for ; k <= need; k++ {
			if i+k >= len(b) {
				break
			}
			x := b[i+k]
			if k > 1 {
				lo, hi = 0x80, 0xbf
			}
			if x < lo || x > hi {
				break
			}
		}
		if k <= need {
			sb.WriteRune(utf8.RuneError)
			i += k
			continue
		}
		sb.Write(b[i : i+need+1])
		i += need + 1
	}
	return sb.String()
}

// dexdumpHeader reads NAME.dexdump-header.txt: per DEX file, string_ids,
// method_ids and class_defs sizes, in the order dexdump opened them.
func dexdumpHeader(t *testing.T, path string) [][3]int {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out [][3]int
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Opened ") {
			out = append(out, [3]int{})
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || len(out) == 0 {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		switch strings.TrimSpace(k) {
		case "string_ids_size":
			out[len(out)-1][0] = n
		case "method_ids_size":
			out[len(out)-1][1] = n
		case "class_defs_size":
			out[len(out)-1][2] = n
		}
	}
	return out
}

var urlRE = regexp.MustCompile(`^https?://[A-Za-z0-9._:\-]+`)

func TestCorpusAgainstOracle(t *testing.T) {
	dir := corpusOrSkip(t)
	prefixTable, apiTable := oracleTables(t, dir)
	prefixKeys := make([]string, 0, len(prefixTable))
	for k := range prefixTable {
		prefixKeys = append(prefixKeys, k)
	}
	sort.Strings(prefixKeys)
	prefixes := make([]string, len(prefixKeys))
	for i, k := range prefixKeys {
		prefixes[i] = prefixTable[k]
	}

	jsons, err := filepath.Glob(filepath.Join(dir, "expected", "*.json"))
	if err != nil || len(jsons) == 0 {
		t.Fatalf("no expected/*.json in %s: %v", dir, err)
	}
	for _, jf := range jsons {
		name := strings.TrimSuffix(filepath.Base(jf), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(jf)
			if err != nil {
				t.Fatal(err)
			}
			var want oracle
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			dexes := readDexEntries(t, filepath.Join(dir, "samples", name))
			var names []string
			for _, d := range dexes {
				names = append(names, d.name)
			}
			if !slices.Equal(names, want.DexFiles) && !(len(names) == 0 && len(want.DexFiles) == 0) {
				t.Fatalf("dex entries %v, oracle %v", names, want.DexFiles)
			}

			set := NewClassSet()
			strs := make(map[string]struct{})
			sum := 0
			var headers [][3]int
			for _, d := range dexes {
				files, err := dex.ParseContainer(d.data)
				if err != nil {
					t.Fatalf("%s: %v", d.name, err)
				}
				for _, f := range files {
					if err := f.VerifyChecksum(); err != nil {
						t.Errorf("%s: %v", d.name, err)
					}
					// No signature check: Android ignores the SHA-1 and
					// post-processors (Redex) leave it stale in two samples.
					if n := f.TrailingBytes(); n != 0 {
						t.Errorf("%s: %d trailing bytes", d.name, n)
					}
					if r := f.ScanCode(); r.Malformed != 0 || r.Truncated || r.Methods == 0 || r.NumInvoked() == 0 {
						t.Errorf("%s: code scan %+v", d.name, *r)
					}
					if !f.StringsSorted() {
						t.Errorf("%s: string pool not in UTF-16 order", d.name)
					}
					if bad, err := f.CheckStrings(); bad != 0 {
						t.Errorf("%s: %d unreadable strings, first: %v", d.name, bad, err)
					}
					headers = append(headers, [3]int{f.NumStrings(), f.NumMethods(), f.NumClasses()})
					sum += f.NumClasses()
					set.AddFile(f)
					for _, s := range f.Strings() {
						strs[pyDecode(s)] = struct{}{}
					}
				}
			}

			if set.Len() != want.ClassCount {
				t.Errorf("distinct classes %d, oracle class_count %d", set.Len(), want.ClassCount)
			}
			if sum != want.ClassCount || set.Duplicates != 0 {
				t.Errorf("class_defs summed over DEX files %d (%d duplicates), oracle %d", sum, set.Duplicates, want.ClassCount)
			}
			if len(strs) != want.StringCount {
				t.Errorf("distinct strings %d, oracle string_count %d", len(strs), want.StringCount)
			}

			// Class descriptor set against NAME.classes.txt.
			txt, err := os.ReadFile(filepath.Join(dir, "expected", name+".classes.txt"))
			if err != nil {
				t.Fatal(err)
			}
			var wantClasses []string
			for _, l := range strings.Split(string(txt), "\n") {
				if l != "" {
					wantClasses = append(wantClasses, l)
				}
			}
			var gotClasses []string
			for _, c := range set.Sorted() {
				gotClasses = append(gotClasses, dex.DecodeMUTF8([]byte(c)))
			}
			sort.Strings(gotClasses)
			sort.Strings(wantClasses)
			if !slices.Equal(gotClasses, wantClasses) {
				t.Errorf("class set differs from classes.txt: got %d, want %d; first difference: %s",
					len(gotClasses), len(wantClasses), firstDiff(gotClasses, wantClasses))
			}

			// Header sizes against dexdump.
			wantHeaders := dexdumpHeader(t, filepath.Join(dir, "expected", name+".dexdump-header.txt"))
			if !slices.Equal(headers, wantHeaders) {
				t.Errorf("per-DEX (strings, methods, classes) %v, dexdump %v", headers, wantHeaders)
			}

			// SDK prefix counts, over the distinct classes as the oracle does.
			pc := NewPrefixCounter(prefixes)
			for _, c := range set.Sorted() {
				pc.Add([]byte(c))
			}
			for i, k := range prefixKeys {
				if got, w := pc.Count(i), want.PrefixCounts[k]; got != w {
					t.Errorf("prefix %s (%s): %d classes, oracle %d", k, prefixes[i], got, w)
				}
			}

			// API strings and URL hosts, substring and regex over the pool.
			var gotAPI []string
			for k, needle := range apiTable {
				for s := range strs {
					if strings.Contains(s, needle) {
						gotAPI = append(gotAPI, k)
						break
					}
				}
			}
			sort.Strings(gotAPI)
			if !slices.Equal(gotAPI, want.APIStrings) && !(len(gotAPI) == 0 && len(want.APIStrings) == 0) {
				t.Errorf("API strings %v, oracle %v", gotAPI, want.APIStrings)
			}
			hosts := make(map[string]bool)
			for s := range strs {
				if m := urlRE.FindString(s); m != "" {
					hosts[m] = true
				}
			}
			var gotHosts []string
			for h := range hosts {
				gotHosts = append(gotHosts, h)
			}
			sort.Strings(gotHosts)
			if !slices.Equal(gotHosts, want.URLHostsInDex) && !(len(gotHosts) == 0 && len(want.URLHostsInDex) == 0) {
				t.Errorf("URL hosts: got %d, oracle %d; first difference: %s", len(gotHosts), len(want.URLHostsInDex), firstDiff(gotHosts, want.URLHostsInDex))
			}
		})
	}
}

func firstDiff(got, want []string) string {
	gs := make(map[string]bool, len(got))
	for _, g := range got {
		gs[g] = true
	}
	ws := make(map[string]bool, len(want))
	for _, w := range want {
		ws[w] = true
		if !gs[w] {
			return "missing " + strconv.Quote(w)
		}
	}
	for _, g := range got {
		if !ws[g] {
			return "extra " + strconv.Quote(g)
		}
	}
	return "none (order or duplicates)"
}

var (
	reDumpConst  = regexp.MustCompile(`\|[0-9a-f]{4}: const-string(?:/jumbo)? `)
	reDumpString = regexp.MustCompile(`(?s)\|[0-9a-f]{4}: const-string(?:/jumbo)? v\d+, .* // string@([0-9a-f]+)$`)
	reDumpInvoke = regexp.MustCompile(`\|[0-9a-f]{4}: invoke-\S+ .* // method@([0-9a-f]+)(?:, proto@[0-9a-f]+)?$`)
)

// The code scan finds exactly the const-string operands and invoke targets
// that dexdump (ART's disassembler, Debian package dexdump) prints for every
// method of the corpus.
func TestCorpusCodeScanAgainstDexdump(t *testing.T) {
	dir := corpusOrSkip(t)
	bin, err := exec.LookPath("dexdump")
	if err != nil {
		t.Skip("dexdump not installed (apt-get install dexdump)")
	}
	if testing.Short() {
		t.Skip("disassembles the whole corpus")
	}
	apks, _ := filepath.Glob(filepath.Join(dir, "samples", "*.apk"))
	tmp := t.TempDir()
	for _, a := range apks {
		for _, d := range readDexEntries(t, a) {
			t.Run(filepath.Base(a)+"/"+d.name, func(t *testing.T) {
				f, err := dex.Parse(d.data)
				if err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(tmp, "classes.dex")
				if err := os.WriteFile(p, d.data, 0o600); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(bin, "-d", p)
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				wantStr, wantInv := make(map[int]bool), make(map[int]bool)
				sc := bufio.NewScanner(out)
				sc.Buffer(make([]byte, 1<<20), 1<<26)
				pending := "" // a const-string whose text spans lines
				for sc.Scan() {
					line := sc.Text()
					if pending != "" {
						line = pending + "\n" + line
						pending = ""
					}
					if reDumpConst.MatchString(line) && !reDumpString.MatchString(line) {
						pending = line
						continue
					}
					if m := reDumpString.FindStringSubmatch(line); m != nil {
						n, _ := strconv.ParseInt(m[1], 16, 64)
						wantStr[int(n)] = true
					} else if m := reDumpInvoke.FindStringSubmatch(line); m != nil {
						n, _ := strconv.ParseInt(m[1], 16, 64)
						wantInv[int(n)] = true
					}
				}
				if err := sc.Err(); err != nil {
					t.Fatal(err)
				}
				if err := cmd.Wait(); err != nil {
					t.Fatalf("dexdump: %v", err)
				}
				r := f.ScanCode()
				diff := func(what string, n int, got func(int) bool, want map[int]bool) {
					missing, extra := 0, 0
					for i := range n {
						switch {
						case got(i) && !want[i]:
							extra++
						case !got(i) && want[i]:
							missing++
						}
					}
					if missing+extra > 0 || len(want) == 0 {
						t.Errorf("%s: %d found by dexdump only, %d by ScanCode only (dexdump found %d)", what, missing, extra, len(want))
					}
				}
				diff("const-string", f.NumStrings(), r.StringInCode, wantStr)
				diff("invoke", f.NumMethods(), r.MethodInvoked, wantInv)
			})
		}
	}
}
