package axml

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type mapResolver map[uint32]string

func (m mapResolver) ResolveString(id uint32) (string, bool) {
	s, ok := m[id]
	return s, ok
}

func TestManifestByResourceID(t *testing.T) {
	for _, tc := range []struct {
		name string
		utf8 bool
	}{{"utf16", false}, {"utf8", true}} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest(sampleManifest(tc.utf8))
			if err != nil {
				t.Fatal(err)
			}
			tr, fa := true, false
			want := &Manifest{
				Package: "com.example.app", VersionCode: 42, VersionName: "1.2.3",
				MinSDK: 21, TargetSDK: 30, InstallLocation: -1,
				UsesPermissions: []UsesPermission{
					{Name: "android.permission.INTERNET"},
					{Name: "android.permission.READ_CONTACTS", MaxSDK: 22},
					{Name: "android.permission.CAMERA", SDK23: true},
				},
				Permissions: []Permission{{Name: "com.example.app.C2D"}},
				Application: Application{
					Name: "com.example.app.App", LabelRef: 0x7f0b0012, Debuggable: &tr,
					MetaData: []MetaData{{Name: "API_KEY", Value: "secret"}},
				},
				Activities: []Component{{Kind: "activity", Name: "com.example.app.Main",
					IntentFilters: []IntentFilter{{Actions: []string{"android.intent.action.SEND"}, MIMETypes: []string{"image/*"}}}}},
				Services:  []Component{{Kind: "service", Name: "com.other.Svc", Exported: &fa}},
				Providers: []Component{{Kind: "provider", Name: "com.example.app.Prov"}},
			}
			if diff := cmp.Diff(want, m); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			m.Resolve(mapResolver{0x7f0b0012: "Example"})
			if m.Application.Label != "Example" {
				t.Errorf("label after Resolve = %q", m.Application.Label)
			}
			if !m.Activities[0].IsExported(30) || m.Services[0].IsExported(30) {
				t.Error("IsExported: activity with filter must be exported, service with exported=false not")
			}
			if !m.Providers[0].IsExported(16) || m.Providers[0].IsExported(17) {
				t.Error("IsExported: provider default must follow targetSdk 17")
			}
		})
	}
}

func TestValueString(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		want string
	}{
		{Value{Type: TypeString, Str: "x"}, "x"},
		{Value{Type: TypeIntDec, Data: 0xffffffff}, "-1"},
		{Value{Type: TypeIntHex, Data: 0x10}, "0x00000010"},
		{Value{Type: TypeIntBoolean, Data: 0xffffffff}, "true"},
		{Value{Type: TypeIntBoolean}, "false"},
		{Value{Type: TypeReference, Data: 0x7f0b0012}, "@0x7f0b0012"},
		{Value{Type: TypeReference, Data: 0x01040001}, "@android:0x01040001"},
		{Value{Type: TypeAttribute, Data: 0x7f010001}, "?0x7f010001"},
		{Value{Type: TypeIntColorARGB8, Data: 0xff00ff00}, "#ff00ff00"},
		{Value{Type: TypeFloat, Data: 0x3fc00000}, "1.5"},
		{Value{Type: TypeDimension, Data: 0x00001001}, "16dp"},
		{Value{Type: 0x77, Data: 3}, "<0x3, type 0x77>"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.v.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	good := sampleManifest(false)
	withSize := func(b []byte, off int, v uint32) []byte {
		c := bytes.Clone(b)
		binary.LittleEndian.PutUint32(c[off:], v)
		return c
	}
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "truncated chunk header"},
		{"short", string(good[:7]), "truncated"},
		{"size beyond data", string(withSize(good, 4, uint32(len(good)+1))), "extends past end"},
		{"header only", string(withSize(good[:8], 4, 8)), "no root element"},
		{"not xml", "\x02\x00\x0c\x00\x0c\x00\x00\x00\x00\x00\x00\x00", "not XML"},
		{"pool size lies", string(withSize(good, 12, 0xfffffff0)), "chunk type 0x0001 size 4294967280 extends past end"},
		{"string count too big", string(withSize(good, 16, 0x40000000)), "extends past chunk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want containing %q", err, tc.want)
			}
		})
	}
}

// Attributes that overlap (stride under 20 bytes) would let a tiny node
// expand into 65535 attributes; they are refused.
func TestOverlappingAttributes(t *testing.T) {
	b := newBuilder(false)
	n := b.str("n")
	b.start("manifest", valAttr(n, TypeIntDec, 1), valAttr(n, TypeIntDec, 2))
	data := b.bytes()
	// attrExt starts 16 bytes into the node; attributeSize is at +10,
	// attributeCount at +12.
	i := bytes.Index(data, []byte{20, 0, 20, 0, 2, 0})
	if i < 0 {
		t.Fatal("attrExt not found")
	}
	binary.LittleEndian.PutUint16(data[i+2:], 0)
	binary.LittleEndian.PutUint16(data[i+4:], 0xffff)
	if _, err := Parse(data); err == nil || !strings.Contains(err.Error(), "attribute size 0") {
		t.Fatalf("err = %v", err)
	}
}

func TestTooDeepStopsWithWarning(t *testing.T) {
	b := newBuilder(false)
	for i := 0; i <= MaxDepth; i++ {
		b.start("a")
	}
	d, err := Parse(b.bytes())
	if err != nil {
		t.Fatal(err)
	}
	depth := 0
	for e := d.Root; e != nil; depth++ {
		if len(e.Children) == 0 {
			e = nil
		} else {
			e = e.Children[0]
		}
	}
	if depth != MaxDepth || !strings.Contains(strings.Join(d.Warnings, ";"), "nested deeper") {
		t.Fatalf("depth %d, warnings %q", depth, d.Warnings)
	}
}

func TestNotManifest(t *testing.T) {
	b := newBuilder(false)
	b.start("LinearLayout")
	b.end("LinearLayout")
	_, err := ParseManifest(b.bytes())
	if !errors.Is(err, ErrNotManifest) {
		t.Fatalf("err = %v, want ErrNotManifest", err)
	}
}

// A pool whose offsets all point at one long string must not expand to
// offsets x length bytes.
func TestStringPoolBudget(t *testing.T) {
	const n = 4000
	long := strings.Repeat("A", 2000)
	var offs, data []byte
	for i := 0; i < n; i++ {
		offs = binary.LittleEndian.AppendUint32(offs, 0)
	}
	data = append(data, byte(0x80|len(long)>>8), byte(len(long)), byte(0x80|len(long)>>8), byte(len(long)))
	data = append(data, long...)
	data = append(data, 0, 0, 0, 0)
	hdr := binary.LittleEndian.AppendUint16(nil, ResStringPoolType)
	hdr = binary.LittleEndian.AppendUint16(hdr, 28)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(28+len(offs)+len(data)))
	hdr = binary.LittleEndian.AppendUint32(hdr, n)
	hdr = binary.LittleEndian.AppendUint32(hdr, 0)
	hdr = binary.LittleEndian.AppendUint32(hdr, flagUTF8)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(28+len(offs)))
	hdr = binary.LittleEndian.AppendUint32(hdr, 0)
	chunk := append(append(hdr, offs...), data...)
	p, err := ParseStringPool(chunk)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := p.Get(n - 1); err != nil || s != long {
		t.Fatalf("Get = %d bytes, %v", len(s), err)
	}
	if _, _, err := p.All(0); !errors.Is(err, ErrBudget) {
		t.Fatalf("All err = %v, want ErrBudget", err)
	}
}

func TestStringNotTerminatedIsDropped(t *testing.T) {
	b := newBuilder(false)
	b.start("manifest", b.strAttr(b.str("package"), "com.a"))
	b.end("manifest")
	data := b.bytes()
	// Overwrite the NUL after "package" (string 0) with 'X'.
	i := bytes.Index(data, []byte{'g', 0, 'e', 0, 0, 0})
	if i < 0 {
		t.Fatal("terminator not found")
	}
	data[i+4] = 'X'
	d, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if d.Root.Name != "manifest" || d.Root.Attrs[0].Name != "" || len(d.Warnings) == 0 {
		t.Fatalf("root %q attr %q, warnings %v: want the bad string dropped with a warning", d.Root.Name, d.Root.Attrs[0].Name, d.Warnings)
	}
}
