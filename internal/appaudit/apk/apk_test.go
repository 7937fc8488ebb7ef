package apk

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type member struct {
	name   string
	data   []byte
	method uint16 // 0 stored, 8 deflate, others written as raw deflate data
	flags  uint16
}

func buildZip(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, m := range members {
		if m.method != zip.Store && m.method != zip.Deflate {
			var comp bytes.Buffer
			fw, _ := flate.NewWriter(&comp, flate.BestCompression)
			fw.Write(m.data)
			fw.Close()
			hw, err := w.CreateRaw(&zip.FileHeader{Name: m.name, Method: m.method, Flags: m.flags,
				CRC32: crc32.ChecksumIEEE(m.data), CompressedSize64: uint64(comp.Len()), UncompressedSize64: uint64(len(m.data))})
			if err != nil {
				t.Fatal(err)
			}
			hw.Write(comp.Bytes())
			continue
		}
		fw, err := w.CreateHeader(&zip.FileHeader{Name: m.name, Method: m.method, Flags: m.flags})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(m.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var fakeDex = append([]byte("dex\n035\x00"), make([]byte, 104)...)

func open(t testing.TB, b []byte, lim Limits) (*Archive, error) {
	t.Helper()
	return NewReader("test.apk", bytes.NewReader(b), int64(len(b)), lim)
}

func TestKinds(t *testing.T) {
	apk := buildZip(t, member{name: "AndroidManifest.xml", data: []byte("x")}, member{name: "classes.dex", data: fakeDex})
	for _, tc := range []struct {
		name string
		data []byte
		want Kind
	}{
		{"apk", apk, KindAPK},
		{"xapk", buildZip(t, member{name: "manifest.json", data: []byte("{}")}, member{name: "com.a.apk", data: apk}), KindXAPK},
		{"apks", buildZip(t, member{name: "toc.pb", data: []byte("x")}, member{name: "splits/base-master.apk", data: apk}), KindAPKS},
		{"jar", buildZip(t, member{name: "a/B.class", data: []byte("\xca\xfe\xba\xbe")}), KindJAR},
		{"aar", buildZip(t, member{name: "AndroidManifest.xml", data: []byte("<manifest/>")}, member{name: "classes.jar", data: []byte("PK")}), KindAAR},
		{"zip", buildZip(t, member{name: "readme", data: []byte("x")}), KindZIP},
		{"dex", fakeDex, KindDEX},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := open(t, tc.data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if a.Kind() != tc.want {
				t.Errorf("kind %v, want %v", a.Kind(), tc.want)
			}
		})
	}
}

func TestNotAnArchive(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"empty", ""},
		{"text", "hello, this is not a zip file at all"},
		{"truncated zip", string(buildZip(t, member{name: "a", data: []byte("abc")})[:30])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := open(t, []byte(tc.data), Limits{})
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) || fe.File != "test.apk" {
				t.Fatalf("err = %v, want *FormatError naming test.apk", err)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	zeros := make([]byte, 4<<20)
	many := []member{}
	for i := 0; i < 20; i++ {
		many = append(many, member{name: strings.Repeat("x", i+1), data: []byte("a")})
	}
	for _, tc := range []struct {
		name  string
		data  []byte
		lim   Limits
		entry string // read this entry
		want  error
	}{
		{"too many entries", buildZip(t, many...), Limits{MaxEntries: 10}, "", ErrTooManyEntries},
		{"entry too large", buildZip(t, member{name: "big", data: make([]byte, 1000), method: zip.Store}), Limits{MaxEntrySize: 999}, "big", ErrEntryTooLarge},
		{"bomb", buildZip(t, member{name: "assets/zeros", data: zeros, method: zip.Deflate}), Limits{}, "assets/zeros", ErrCompressionRatio},
		{"small file may compress well", buildZip(t, member{name: "z", data: zeros[:1000], method: zip.Deflate}), Limits{}, "z", nil},
		{"total", buildZip(t, member{name: "a", data: make([]byte, 600)}, member{name: "b", data: make([]byte, 600)}), Limits{MaxTotalSize: 1000}, "a,b", ErrTotalTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := open(t, tc.data, tc.lim)
			if err == nil && tc.entry != "" {
				for _, n := range strings.Split(tc.entry, ",") {
					if _, err = a.ReadFile(n); err != nil {
						break
					}
				}
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				return
			}
			var le *LimitError
			if !errors.As(err, &le) || le.File != "test.apk" || (tc.entry != "" && le.Entry == "") {
				t.Fatalf("err = %#v, want *LimitError naming file and entry", err)
			}
			if !strings.Contains(err.Error(), "test.apk") {
				t.Errorf("message %q does not name the file", err)
			}
		})
	}
}

// Android inflates any method other than stored and ignores the encryption
// bit; the BadPack family relies on both to break analysis tools.
func TestAndroidTolerance(t *testing.T) {
	manifest := []byte(strings.Repeat("manifest bytes ", 10))
	b := buildZip(t,
		member{name: "AndroidManifest.xml", data: manifest, method: 0x1234},
		member{name: "classes.dex", data: fakeDex, method: zip.Deflate, flags: 1},
		member{name: "classes.dex", data: []byte("dex\nsecond")},
	)
	a, err := open(t, b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.ReadFile("AndroidManifest.xml")
	if err != nil || !bytes.Equal(got, manifest) {
		t.Fatalf("odd method: %q, %v", got, err)
	}
	got, err = a.ReadFile("classes.dex")
	if err != nil || !bytes.Equal(got, fakeDex) {
		t.Fatalf("encrypted flag / duplicate: %q, %v", got, err)
	}
	if e, _ := a.Entry("classes.dex"); !e.Encrypted {
		t.Error("Encrypted flag not reported")
	}
	if len(a.Warnings()) != 2 {
		t.Errorf("warnings = %q, want the odd method and the duplicate", a.Warnings())
	}
	if _, err := a.ReadFile("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing entry: %v", err)
	}
}

func TestWalk(t *testing.T) {
	inner := buildZip(t, member{name: "classes.dex", data: fakeDex}, member{name: "AndroidManifest.xml", data: []byte("m")})
	innerJar := buildZip(t, member{name: "classes.dex", data: fakeDex})
	deepest := buildZip(t, member{name: "d.apk", data: buildZip(t, member{name: "e.apk", data: inner})})
	outer := buildZip(t,
		member{name: "AndroidManifest.xml", data: []byte("m")},
		member{name: "classes.dex", data: fakeDex},
		member{name: "classes2.dex", data: fakeDex},
		member{name: "assets/plugin.apk", data: inner},
		member{name: "assets/hidden.bin", data: innerJar}, // archive without a telling name
		member{name: "assets/payload.dat", data: fakeDex}, // dex without a telling name
		member{name: "assets/deep.zip", data: deepest},
		member{name: "res/raw/x.png", data: fakeDex}, // not sniffed
	)
	a, err := open(t, outer, Limits{MaxDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = a.Walk(func(it Item) error {
		s := it.Path + " " + it.Kind.String()
		if it.Err != nil {
			s += " ERR"
			if !errors.Is(it.Err, ErrTooDeep) {
				t.Errorf("%s: %v", it.Path, it.Err)
			}
		}
		if it.Kind == KindDEX && !bytes.Equal(it.DEX, fakeDex) {
			t.Errorf("%s: wrong dex bytes", it.Path)
		}
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"test.apk apk",
		"test.apk!classes.dex dex",
		"test.apk!classes2.dex dex",
		"test.apk!assets/plugin.apk apk",
		"test.apk!assets/plugin.apk!classes.dex dex",
		"test.apk!assets/hidden.bin zip",
		"test.apk!assets/hidden.bin!classes.dex dex",
		"test.apk!assets/payload.dat dex",
		"test.apk!assets/deep.zip apks",
		"test.apk!assets/deep.zip!d.apk apks",
		"test.apk!assets/deep.zip!d.apk!e.apk zip ERR",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("walk (-want +got):\n%s", diff)
	}
}

func TestWalkSkipAndStop(t *testing.T) {
	inner := buildZip(t, member{name: "classes.dex", data: fakeDex})
	outer := buildZip(t, member{name: "a.apk", data: inner}, member{name: "b.dex", data: fakeDex})
	a, err := open(t, outer, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	a.Walk(func(it Item) error {
		paths = append(paths, it.Path)
		if it.Entry == "a.apk" {
			return SkipArchive
		}
		return nil
	})
	if diff := cmp.Diff([]string{"test.apk", "test.apk!a.apk", "test.apk!b.dex"}, paths); diff != "" {
		t.Errorf("skip (-want +got):\n%s", diff)
	}
	stop := errors.New("stop")
	if err := a.Walk(func(it Item) error { return stop }); err != stop {
		t.Errorf("stop: %v", err)
	}
}

func TestBase(t *testing.T) {
	base := buildZip(t, member{name: "AndroidManifest.xml", data: []byte("base")})
	split := buildZip(t, member{name: "AndroidManifest.xml", data: []byte("split")})
	x := buildZip(t,
		member{name: "manifest.json", data: []byte("{}")},
		member{name: "config.arm64_v8a.apk", data: split},
		member{name: "com.example.apk", data: base},
	)
	a, err := open(t, x, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.Base()
	if err != nil {
		t.Fatal(err)
	}
	if b.Name() != "test.apk!com.example.apk" || b.Kind() != KindAPK || b.Depth() != 1 {
		t.Fatalf("base = %s %v depth %d", b.Name(), b.Kind(), b.Depth())
	}
	if m, _ := b.ReadFile("AndroidManifest.xml"); string(m) != "base" {
		t.Errorf("base manifest %q", m)
	}
}

// ReadPrefix trades the ratio check for a bound of its own, and hands out
// the first bytes of a larger member with the limit error.
func TestReadPrefix(t *testing.T) {
	padded := bytes.Repeat([]byte("meta-data "), 300<<10) // 3 MB, deflates ~1000:1
	data := buildZip(t, member{name: "AndroidManifest.xml", data: padded, method: zip.Deflate},
		member{name: "small", data: []byte("abc"), method: zip.Deflate})
	for _, tc := range []struct {
		name   string
		lim    Limits
		entry  string
		limit  int64
		want   error
		n      int   // bytes returned
		limErr int64 // the limit the error names
	}{
		{"ratio not applied", Limits{}, "AndroidManifest.xml", 4 << 20, nil, len(padded), 0},
		{"over the limit", Limits{}, "AndroidManifest.xml", 1 << 20, ErrEntryTooLarge, 1 << 20, 1 << 20},
		{"entry size limit is smaller", Limits{MaxEntrySize: 1000}, "AndroidManifest.xml", 4 << 20, ErrEntryTooLarge, 1000, 1000},
		{"total", Limits{MaxTotalSize: 1 << 20}, "AndroidManifest.xml", 4 << 20, ErrTotalTooLarge, 0, 1 << 20},
		{"small", Limits{}, "small", 1 << 20, nil, 3, 0},
		{"missing", Limits{}, "nope", 1 << 20, ErrNotFound, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := open(t, data, tc.lim)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.ReadFile("AndroidManifest.xml"); tc.name == "ratio not applied" && !errors.Is(err, ErrCompressionRatio) {
				t.Fatalf("ReadFile: %v, want the ratio check to refuse the entry", err)
			}
			b, err := a.ReadPrefix(tc.entry, tc.limit)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if len(b) != tc.n {
				t.Fatalf("%d bytes, want %d", len(b), tc.n)
			}
			if tc.entry == "AndroidManifest.xml" && !bytes.Equal(b, padded[:len(b)]) {
				t.Fatal("not the entry's first bytes")
			}
			var le *LimitError
			if tc.limErr != 0 && (!errors.As(err, &le) || le.Limit != tc.limErr || le.Entry != tc.entry || !strings.Contains(err.Error(), "test.apk")) {
				t.Fatalf("err = %#v, want a *LimitError naming test.apk, %s and limit %d", err, tc.entry, tc.limErr)
			}
			if errors.Is(tc.want, ErrEntryTooLarge) && le.Value != int64(len(padded)) {
				t.Errorf("error value %d, want the declared size %d", le.Value, len(padded))
			}
		})
	}
}

// An entry over a limit is still recognised by its first bytes, so that
// the walk reports it with the limit error rather than passing over it:
// a DEX padded past the zip-bomb ratio under a name that says nothing.
func TestWalkReportsEntriesOverLimits(t *testing.T) {
	padded := append(append([]byte{}, fakeDex...), make([]byte, 2<<20)...)
	outer := buildZip(t,
		member{name: "AndroidManifest.xml", data: []byte("m")},
		member{name: "assets/a.bin", data: padded, method: zip.Deflate},
		member{name: "assets/zeros.bin", data: make([]byte, 2<<20), method: zip.Deflate}, // not code: no item
	)
	a, err := open(t, outer, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	a.Walk(func(it Item) error {
		s := it.Path + " " + it.Kind.String()
		if it.Err != nil {
			s += " ERR"
			if !errors.Is(it.Err, ErrCompressionRatio) {
				t.Errorf("%s: %v, want the ratio limit", it.Path, it.Err)
			}
		}
		got = append(got, s)
		return nil
	})
	if diff := cmp.Diff([]string{"test.apk apk", "test.apk!assets/a.bin dex ERR"}, got); diff != "" {
		t.Errorf("walk (-want +got):\n%s", diff)
	}
}
