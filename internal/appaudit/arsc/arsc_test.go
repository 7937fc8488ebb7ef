package arsc

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/outflow-dev/outflow/internal/appaudit/axml"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

var le = binary.LittleEndian

func pool(strs ...string) []byte {
	var offs, data []byte
	for _, s := range strs {
		offs = le.AppendUint32(offs, uint32(len(data)))
		data = append(data, byte(len(s)), byte(len(s)))
		data = append(data, s...)
		data = append(data, 0)
	}
	for len(data)%4 != 0 {
		data = append(data, 0)
	}
	h := le.AppendUint16(nil, axml.ResStringPoolType)
	h = le.AppendUint16(h, 28)
	h = le.AppendUint32(h, uint32(28+len(offs)+len(data)))
	h = le.AppendUint32(h, uint32(len(strs)))
	h = le.AppendUint32(h, 0)
	h = le.AppendUint32(h, 1<<8)
	h = le.AppendUint32(h, uint32(28+len(offs)))
	h = le.AppendUint32(h, 0)
	return append(append(h, offs...), data...)
}

type entry struct {
	idx     int
	key     uint32
	typ     axml.ValueType
	data    uint32
	compact bool
	complex bool
}

// typeChunkBytes writes a ResTable_type; mode is "dense", "sparse" or "off16".
func typeChunkBytes(id uint8, mode string, lang string, count int, es ...entry) []byte {
	const hdr = 20 + 64 // chunk header, id..entriesStart, 64-byte config
	cfg := make([]byte, 64)
	le.PutUint32(cfg, 64)
	copy(cfg[8:], lang)
	var body []byte
	offsets := map[int]int{}
	for _, e := range es {
		offsets[e.idx] = len(body)
		switch {
		case e.compact:
			body = le.AppendUint16(body, uint16(e.key))
			body = le.AppendUint16(body, 0x8|uint16(e.typ)<<8)
			body = le.AppendUint32(body, e.data)
		case e.complex:
			body = le.AppendUint16(body, 16)
			body = le.AppendUint16(body, 1)
			body = le.AppendUint32(body, e.key)
			body = le.AppendUint32(body, 0)
			body = le.AppendUint32(body, 0)
		default:
			body = le.AppendUint16(body, 8)
			body = le.AppendUint16(body, 0)
			body = le.AppendUint32(body, e.key)
			body = le.AppendUint16(body, 8)
			body = append(body, 0, byte(e.typ))
			body = le.AppendUint32(body, e.data)
		}
	}
	var index []byte
	flags := byte(0)
	switch mode {
	case "sparse":
		flags = flagSparse
		for _, e := range es {
			index = le.AppendUint16(index, uint16(e.idx))
			index = le.AppendUint16(index, uint16(offsets[e.idx]/4))
		}
		count = len(es)
	case "off16":
		flags = flagOffset16
		for i := 0; i < count; i++ {
			o, ok := offsets[i]
			if !ok {
				index = le.AppendUint16(index, 0xffff)
				continue
			}
			index = le.AppendUint16(index, uint16(o/4))
		}
		for len(index)%4 != 0 {
			index = append(index, 0)
		}
	default:
		for i := 0; i < count; i++ {
			o, ok := offsets[i]
			if !ok {
				index = le.AppendUint32(index, noEntry)
				continue
			}
			index = le.AppendUint32(index, uint32(o))
		}
	}
	b := le.AppendUint16(nil, axml.ResTableTypeType)
	b = le.AppendUint16(b, hdr)
	b = le.AppendUint32(b, uint32(hdr+len(index)+len(body)))
	b = append(b, id, flags, 0, 0)
	b = le.AppendUint32(b, uint32(count))
	b = le.AppendUint32(b, uint32(hdr+len(index)))
	b = append(b, cfg...)
	return append(append(b, index...), body...)
}

func table(global []byte, pkgID uint32, typeNames, keys []byte, types ...[]byte) []byte {
	var pkg []byte
	pkg = le.AppendUint16(pkg, axml.ResTablePackageType)
	pkg = le.AppendUint16(pkg, 288)
	pkg = le.AppendUint32(pkg, 0) // size, patched below
	pkg = le.AppendUint32(pkg, pkgID)
	name := make([]byte, 256)
	copy(name, "c\x00o\x00m\x00.\x00x\x00")
	pkg = append(pkg, name...)
	pkg = le.AppendUint32(pkg, 288)
	pkg = le.AppendUint32(pkg, 0)
	pkg = le.AppendUint32(pkg, uint32(288+len(typeNames)))
	pkg = le.AppendUint32(pkg, 0)
	pkg = le.AppendUint32(pkg, 0)
	pkg = append(append(pkg, typeNames...), keys...)
	for _, t := range types {
		pkg = append(pkg, t...)
	}
	le.PutUint32(pkg[4:], uint32(len(pkg)))
	b := le.AppendUint16(nil, axml.ResTableType)
	b = le.AppendUint16(b, 12)
	b = le.AppendUint32(b, uint32(12+len(global)+len(pkg)))
	b = le.AppendUint32(b, 1)
	return append(append(b, global...), pkg...)
}

func sampleTable() []byte {
	global := pool("My App", "Mon App", "https://api.example.cn/v1", "alias target")
	return table(global, 0x7f, pool("attr", "string", "bool"), pool("app_name", "endpoint", "alias", "loop", "flag", "style"),
		// string type (id 2): default config, dense
		typeChunkBytes(2, "dense", "", 6,
			entry{idx: 0, key: 0, typ: axml.TypeString, data: 0},
			entry{idx: 1, key: 1, typ: axml.TypeString, data: 2},
			entry{idx: 2, key: 2, typ: axml.TypeReference, data: 0x7f020000},
			entry{idx: 3, key: 3, typ: axml.TypeReference, data: 0x7f020003},
			entry{idx: 5, key: 5, complex: true}),
		// French: sparse, must not win over the default
		typeChunkBytes(2, "sparse", "fr", 0, entry{idx: 0, key: 0, typ: axml.TypeString, data: 1}),
		// bool type (id 3): only a localized, 16-bit-offset, compact entry
		typeChunkBytes(3, "off16", "de", 2, entry{idx: 1, key: 4, typ: axml.TypeIntBoolean, data: 1, compact: true}),
	)
}

func TestLookup(t *testing.T) {
	tab, err := Parse(sampleTable())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   uint32
		want string
		ok   bool
	}{
		{0x7f020000, "My App", true},
		{0x7f020001, "https://api.example.cn/v1", true},
		{0x7f020002, "My App", true}, // reference followed
		{0x7f020003, "", false},      // reference loop stops
		{0x7f020004, "", false},      // no entry
		{0x7f020005, "", false},      // bag, not a string
		{0x7f030001, "", false},      // boolean
		{0x7e020000, "", false},      // no such package
	} {
		got, ok := tab.ResolveString(tc.id)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ResolveString(%#08x) = %q, %v; want %q, %v", tc.id, got, ok, tc.want, tc.ok)
		}
	}
	v, err := tab.Value(0x7f030001)
	if err != nil || v.Type != axml.TypeIntBoolean || v.Data != 1 {
		t.Errorf("compact localized bool: %+v, %v", v, err)
	}
	if n, ok := tab.Name(0x7f020001); n != "string/endpoint" || !ok {
		t.Errorf("Name = %q, %v", n, ok)
	}
	want := []StringResource{
		{ID: 0x7f020000, Name: "string/app_name", Value: "My App"},
		{ID: 0x7f020001, Name: "string/endpoint", Value: "https://api.example.cn/v1"},
	}
	if diff := cmp.Diff(want, tab.StringResources()); diff != "" {
		t.Errorf("StringResources (-want +got):\n%s", diff)
	}
	if tab.Packages[0].Name != "com.x" || tab.Packages[0].ID != 0x7f {
		t.Errorf("package %q %#x", tab.Packages[0].Name, tab.Packages[0].ID)
	}
}

func TestParseErrors(t *testing.T) {
	good := sampleTable()
	trunc := func(n int) []byte { return good[:n] }
	badSize := append([]byte(nil), good...)
	le.PutUint32(badSize[4:], uint32(len(good)+4))
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"header only", trunc(8)},
		{"truncated", trunc(len(good) - 3)},
		{"size beyond data", badSize},
		{"xml not table", []byte("\x03\x00\x08\x00\x0c\x00\x00\x00\x00\x00\x00\x00")},
		{"no pool", []byte("\x02\x00\x0c\x00\x0c\x00\x00\x00\x00\x00\x00\x00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.data); err == nil {
				t.Fatal("parsed")
			}
		})
	}
	if _, err := (&Table{}).Value(1); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty table: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sampleTable())
	for _, n := range []string{"androguard_Invalid.apk", "meituan_robust_patch.apk", "weibo_weibo.sdk.android.demo.apk"} {
		p, ok := sharedtest.Optional(f, "apk", "samples", n)
		if !ok {
			continue
		}
		if b, ok := zipEntry(f, p, "resources.arsc"); ok && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := Parse(data)
		if err != nil {
			return
		}
		for _, r := range tab.StringResources() {
			tab.ResolveString(r.ID)
			tab.Name(r.ID)
		}
		for _, id := range []uint32{0x7f020000, 0x7f010000, 0x7f030001} {
			tab.ResolveString(id)
		}
		tab.Strings()
	})
}

func BenchmarkResolveLabel(b *testing.B) {
	dir := sharedDir(b)
	path := filepath.Join(dir, "samples", "exodus_instapaper.apk")
	data, ok := zipEntry(b, path, "resources.arsc")
	if !ok {
		b.Skip("no resources.arsc")
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		tab, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		tab.ResolveString(0x7f0f0000)
	}
}
