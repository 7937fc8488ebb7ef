package dex_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/dex"
	"github.com/outflow-dev/outflow/internal/appaudit/dex/dextest"
)

// auditSpec is a small app with the calls the auditor looks for.
var auditSpec = dextest.Spec{
	Classes: []string{"Lcom/example/Main;", "Lcom/example/Main$1;", "Lcom/tencent/bugly/Bugly;", "LTop;"},
	Strings: []string{"http://api.weibo.cn/2/client/common_config", "hello", "日本\x00z", "😀 emoji", ""},
	Methods: []dextest.MethodSpec{
		{Class: "Landroid/telephony/TelephonyManager;", Name: "getDeviceId", Proto: "()Ljava/lang/String;"},
		{Class: "Ldalvik/system/DexClassLoader;", Name: "<init>", Proto: "(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/ClassLoader;)V"},
		{Class: "Ljava/lang/Runtime;", Name: "exec", Proto: "(Ljava/lang/String;)Ljava/lang/Process;"},
		{Class: "Ljava/lang/Runtime;", Name: "exec", Proto: "([Ljava/lang/String;)Ljava/lang/Process;"},
		{Class: "Lx/Y;", Name: "wide", Proto: "(JDI[[B)Z"},
	},
}

func mustBuild(t testing.TB, s dextest.Spec) []byte {
	t.Helper()
	b, err := dextest.Build(s)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return b
}

func TestBuildRoundTrip(t *testing.T) {
	for _, v := range []int{35, 37, 38, 39, 40, 41} {
		t.Run("v0"+string(rune('0'+v/10))+string(rune('0'+v%10)), func(t *testing.T) {
			s := auditSpec
			s.Version = v
			f, err := dex.Parse(mustBuild(t, s))
			if err != nil {
				t.Fatal(err)
			}
			if f.Header.Version != v {
				t.Errorf("version %d, want %d", f.Header.Version, v)
			}
			if err := f.VerifyChecksum(); err != nil {
				t.Error(err)
			}
			if err := f.VerifySignature(); err != nil {
				t.Error(err)
			}
			if bad, err := f.CheckStrings(); bad != 0 {
				t.Errorf("%d bad strings: %v", bad, err)
			}

			var classes []string
			for _, d := range f.Classes() {
				classes = append(classes, string(d))
			}
			if !slices.Equal(classes, s.Classes) {
				t.Errorf("classes %q, want %q", classes, s.Classes)
			}
			for i := range f.NumClasses() {
				c, err := f.Class(i)
				if err != nil {
					t.Fatal(err)
				}
				if string(c.Superclass) != "Ljava/lang/Object;" || c.AccessFlags != dex.AccPublic || c.SourceFile != nil {
					t.Errorf("class %d: %+v", i, c)
				}
			}

			// Every string constant is in the pool, loaded by code.
			var consts []string
			for _, b := range f.ConstStrings() {
				consts = append(consts, dex.DecodeMUTF8(b))
			}
			want := slices.Clone(s.Strings)
			sort.Strings(want)
			sort.Strings(consts)
			if !slices.Equal(consts, want) {
				t.Errorf("const strings %q, want %q", consts, want)
			}
			for _, str := range s.Strings {
				if _, ok := f.FindString(str); !ok {
					t.Errorf("FindString(%q) not found", str)
				}
			}
			if _, ok := f.FindString("absent"); ok {
				t.Error("FindString found a string that is not there")
			}

			// Every method is referenced, invoked, with its proto.
			invoked := make(map[string]bool)
			for _, m := range f.InvokedMethods() {
				p, err := f.AppendProto(nil, m.Proto)
				if err != nil {
					t.Fatal(err)
				}
				invoked[string(m.Class)+"->"+string(m.Name)+string(p)] = true
			}
			for _, m := range s.Methods {
				key := m.Class + "->" + m.Name + m.Proto
				if !invoked[key] {
					t.Errorf("%s not invoked; invoked: %v", key, invoked)
				}
				if !f.HasMethod(m.Class, m.Name) {
					t.Errorf("HasMethod(%s, %s) false", m.Class, m.Name)
				}
			}
			if len(invoked) != len(s.Methods) {
				t.Errorf("%d invoked methods, want %d (the <clinit> must not count)", len(invoked), len(s.Methods))
			}
			n := 0
			for range f.FindMethods("Ljava/lang/Runtime;", "exec") {
				n++
			}
			if n != 2 {
				t.Errorf("FindMethods(Runtime, exec) = %d overloads, want 2", n)
			}
			if !f.HasMethod("Lcom/example/Main;", "<clinit>") {
				t.Error("static initialiser missing")
			}
			if f.HasMethod("Ljava/lang/Runtime;", "getRuntime") || f.HasMethod("Lno/Such;", "exec") {
				t.Error("HasMethod true for a method that is not there")
			}
			if r := f.ScanCode(); r.Malformed != 0 || r.Truncated || r.Methods != 1 || r.Classes != 1 {
				t.Errorf("ScanCode: %+v", *r)
			}
			if !f.StringsSorted() {
				t.Error("builder output not in UTF-16 order")
			}
		})
	}
}

func TestBuildContainer(t *testing.T) {
	a := dextest.Spec{Classes: []string{"La/A;"}, Strings: []string{"first"}}
	b := dextest.Spec{Classes: []string{"Lb/B;", "Lb/C;"}, Methods: []dextest.MethodSpec{{Class: "Ljava/lang/Runtime;", Name: "exec", Proto: "(Ljava/lang/String;)Ljava/lang/Process;"}}}
	data, err := dextest.BuildContainer(a, b)
	if err != nil {
		t.Fatal(err)
	}
	files, err := dex.ParseContainer(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("%d entries, want 2", len(files))
	}
	for i, want := range [][]string{a.Classes, b.Classes} {
		f := files[i]
		var got []string
		for _, d := range f.Classes() {
			got = append(got, string(d))
		}
		if !slices.Equal(got, want) {
			t.Errorf("entry %d classes %q, want %q", i, got, want)
		}
		if f.Header.ContainerSize != uint32(len(data)) {
			t.Errorf("entry %d container_size %d, want %d", i, f.Header.ContainerSize, len(data))
		}
		if err := f.VerifyChecksum(); err != nil {
			t.Errorf("entry %d: %v", i, err)
		}
		if err := f.VerifySignature(); err != nil {
			t.Errorf("entry %d: %v", i, err)
		}
	}
	if !files[1].HasMethod("Ljava/lang/Runtime;", "exec") || files[0].HasMethod("Ljava/lang/Runtime;", "exec") {
		t.Error("method found in the wrong entry")
	}
	if _, ok := files[0].FindString("first"); !ok {
		t.Error("entry 0 lost its string")
	}
	// dex.Parse alone reads the first entry.
	f, err := dex.Parse(data)
	if err != nil || f.NumClasses() != 1 {
		t.Errorf("Parse of container: %v, %d classes", err, f.NumClasses())
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		spec dextest.Spec
		want string
	}{
		{"not a class", dextest.Spec{Classes: []string{"com.foo.Bar"}}, "not a class descriptor"},
		{"array class", dextest.Spec{Classes: []string{"[Lcom/Foo;"}}, "not a class descriptor"},
		{"twice", dextest.Spec{Classes: []string{"La;", "La;"}}, "defined twice"},
		{"no holder", dextest.Spec{Strings: []string{"x"}}, "at least one class"},
		{"bad proto", dextest.Spec{Classes: []string{"La;"}, Methods: []dextest.MethodSpec{{Class: "Lb;", Name: "m", Proto: "(Q)V"}}}, "bad parameter"},
		{"bad return", dextest.Spec{Classes: []string{"La;"}, Methods: []dextest.MethodSpec{{Class: "Lb;", Name: "m", Proto: "()Lx"}}}, "bad return"},
		{"no paren", dextest.Spec{Classes: []string{"La;"}, Methods: []dextest.MethodSpec{{Class: "Lb;", Name: "m", Proto: "V"}}}, "does not start"},
		{"no name", dextest.Spec{Classes: []string{"La;"}, Methods: []dextest.MethodSpec{{Class: "Lb;"}}}, "no name"},
		{"bad method class", dextest.Spec{Classes: []string{"La;"}, Methods: []dextest.MethodSpec{{Class: "b", Name: "m"}}}, "bad class descriptor"},
		{"version", dextest.Spec{Version: 34}, "version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dextest.Build(tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestBuildEmptyAndObject(t *testing.T) {
	f, err := dex.Parse(mustBuild(t, dextest.Spec{}))
	if err != nil {
		t.Fatal(err)
	}
	if f.NumClasses() != 0 || f.NumMethods() != 0 || f.NumStrings() != 1 {
		t.Errorf("empty build: %d classes, %d methods, %d strings", f.NumClasses(), f.NumMethods(), f.NumStrings())
	}
	// java.lang.Object itself has no superclass and is written first.
	f, err = dex.Parse(mustBuild(t, dextest.Spec{Classes: []string{"La;", "Ljava/lang/Object;"}}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Class(0)
	if err != nil || string(c.Descriptor) != "Ljava/lang/Object;" || c.Superclass != nil {
		t.Errorf("class 0 = %+v, %v; want java.lang.Object without superclass", c, err)
	}
}

// A jumbo string index needs more than 65536 strings.
func TestBuildJumboStrings(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 70k-string file")
	}
	s := dextest.Spec{Classes: []string{"La;"}}
	for i := range 70000 {
		s.Strings = append(s.Strings, "s"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+itoa(i))
	}
	f, err := dex.Parse(mustBuild(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.ScanCode().NumConstStrings(); got != len(s.Strings) {
		t.Errorf("%d const strings, want %d", got, len(s.Strings))
	}
	if _, ok := f.FindString(s.Strings[69999]); !ok {
		t.Error("last string not found")
	}
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

// dexdump (Debian package dexdump, ART's own reader and verifier) must
// accept what dextest.Build writes. It knows versions up to 039.
func TestBuildAcceptedByDexdump(t *testing.T) {
	bin, err := exec.LookPath("dexdump")
	if err != nil {
		t.Skip("dexdump not installed (apt-get install dexdump)")
	}
	dir := t.TempDir()
	for _, v := range []int{35, 37, 38, 39} {
		s := auditSpec
		s.Version = v
		path := filepath.Join(dir, "classes.dex")
		if err := os.WriteFile(path, mustBuild(t, s), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-d", path).CombinedOutput()
		if err != nil || bytes.Contains(out, []byte("Failure")) || bytes.Contains(out, []byte(" E ")) {
			t.Fatalf("v%d: dexdump: %v\n%s", v, err, out)
		}
		for _, want := range []string{
			"Class descriptor  : 'Lcom/tencent/bugly/Bugly;'",
			"Ldalvik/system/DexClassLoader;.<init>:(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/ClassLoader;)V",
			`const-string v0, "http://api.weibo.cn/2/client/common_config"`,
		} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("v%d: dexdump output lacks %q", v, want)
			}
		}
	}
	// And it must reject a corrupted file, or the check above proves nothing.
	b := mustBuild(t, auditSpec)
	b[len(b)-1] ^= 0xff
	path := filepath.Join(dir, "bad.dex")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-d", path).CombinedOutput()
	if err == nil && !bytes.Contains(out, []byte("Failure")) && !bytes.Contains(out, []byte(" E ")) {
		t.Errorf("dexdump accepted a file with a bad checksum:\n%s", out)
	}
}

func TestParseRejectsOtherFormats(t *testing.T) {
	raw := mustBuild(t, auditSpec)
	odex := make([]byte, 40, 40+len(raw))
	copy(odex, "dey\n036\x00")
	odex[8] = 40
	odex[12] = byte(len(raw))
	odex[13] = byte(len(raw) >> 8)
	odex = append(odex, raw...)
	tests := []struct {
		name string
		data []byte
		kind dex.Kind
	}{
		{"cdex", append([]byte("cdex001\x00"), make([]byte, 200)...), dex.KindCompactDex},
		{"odex", odex, dex.KindODEX},
		{"vdex", append([]byte("vdex027\x00"), make([]byte, 200)...), dex.KindVDEX},
		{"oat", append([]byte("\x7fELF"), make([]byte, 200)...), dex.KindELF},
		{"zip", []byte("PK\x03\x04rest"), dex.KindUnknown},
		{"empty", nil, dex.KindUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if k := dex.Detect(tc.data); k != tc.kind {
				t.Errorf("Detect = %v, want %v", k, tc.kind)
			}
			_, err := dex.Parse(tc.data)
			var fe *dex.FormatError
			if !errors.As(err, &fe) || fe.Kind != tc.kind || !errors.Is(err, dex.ErrNotDex) {
				t.Errorf("Parse error %v, want a dex.FormatError of kind %v", err, tc.kind)
			}
		})
	}
	payload, err := dex.ODEXPayload(odex)
	if err != nil || !bytes.Equal(payload, raw) {
		t.Fatalf("ODEXPayload: %v", err)
	}
	if _, err := dex.Parse(payload); err != nil {
		t.Error(err)
	}
	if _, err := dex.ODEXPayload(odex[:50]); err == nil {
		t.Error("ODEXPayload accepted a truncated payload")
	}
	if _, err := dex.ODEXPayload(raw); err == nil {
		t.Error("ODEXPayload accepted a plain DEX file")
	}
	var fe *dex.FormatError
	if _, err := dex.Parse(append([]byte("dex\n034\x00"), raw[8:]...)); !errors.As(err, &fe) || fe.Version != "034" {
		t.Errorf("version 034: %v", err)
	}
}
