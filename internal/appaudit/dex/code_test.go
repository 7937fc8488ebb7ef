package dex

import (
	"encoding/binary"
	"slices"
	"testing"
)

// codeFile assembles a File by hand around one class_data item, one code
// item with the given instructions and one static-values array, to test
// the instruction walk on what the builder never writes.
func codeFile(t *testing.T, insns []uint16, static []byte, classes int) *File {
	t.Helper()
	var d []byte
	d = append(d, make([]byte, 16)...) // offset 0 means "none"
	classData := len(d)
	codeOff := 64
	d = appendULEB(d, 0)
	d = appendULEB(d, 0)
	d = appendULEB(d, 1)
	d = appendULEB(d, 0)
	d = appendULEB(d, 0)
	d = appendULEB(d, AccStatic)
	d = appendULEB(d, uint32(codeOff))
	d = append(d, make([]byte, codeOff-len(d))...)
	d = binary.LittleEndian.AppendUint16(d, 1)
	d = binary.LittleEndian.AppendUint16(d, 0)
	d = binary.LittleEndian.AppendUint16(d, 0)
	d = binary.LittleEndian.AppendUint16(d, 0)
	d = binary.LittleEndian.AppendUint32(d, 0)
	d = binary.LittleEndian.AppendUint32(d, uint32(len(insns)))
	for _, u := range insns {
		d = binary.LittleEndian.AppendUint16(d, u)
	}
	staticOff := 0
	if static != nil {
		staticOff = len(d)
		d = append(d, static...)
	}
	defs := make([]byte, 32*classes)
	for i := range classes {
		binary.LittleEndian.PutUint32(defs[32*i+24:], uint32(classData))
		binary.LittleEndian.PutUint32(defs[32*i+28:], uint32(staticOff))
	}
	return &File{
		data:      d,
		strIDs:    make([]byte, 4*32),
		methodIDs: make([]byte, 8*32),
		classDefs: defs,
	}
}

// appendULEB appends v as unsigned LEB128, as dextest's writer does.
func appendULEB(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func setBits(r *CodeRefs, strings bool) []int {
	var out []int
	for i := range 32 {
		if (strings && r.StringLoaded(i)) || (!strings && r.MethodInvoked(i)) {
			out = append(out, i)
		}
	}
	return out
}

func TestScanCodeInstructions(t *testing.T) {
	insns := []uint16{
		0x001a, 5, // const-string v0, string@5
		0x0012,                                // const/4
		0x0100, 2, 0, 0, 0x001a, 7, 0x001a, 7, // packed-switch-payload whose targets look like const-string 7
		0x0300, 1, 3, 0, 0x001a, 0x0009, // fill-array-data-payload, 3 one-byte elements
		0x0200, 1, 0x001a, 12, 0x001a, 12, // sparse-switch-payload
		0x206e, 3, 0, // invoke-virtual {}, method@3
		0x0018, 1, 2, 3, 4, // const-wide with a payload that looks like code
		0x001b, 8, 0, // const-string/jumbo v0, string@8
		0x00fa, 4, 0, 0, // invoke-polymorphic method@4
		0x0077, 6, 0, // invoke-static/range method@6
		0x000e, // return-void
	}
	static := []byte{
		0x04,       // four values
		0x17, 0x09, // string 9
		0x1c, 0x02, 0x37, 0x0a, 0x00, 0x64, 1, 2, 3, 4, // array: string 10 (two bytes), int
		0x1d, 0x05, 0x01, 0x06, 0x17, 0x0b, // annotation: type 5, name 6 = string 11
		0x1f | 1<<5, // boolean true
	}
	f := codeFile(t, insns, static, 1)
	r := f.ScanCode()
	if r.Malformed != 0 || r.Truncated {
		t.Fatalf("malformed %d, truncated %v", r.Malformed, r.Truncated)
	}
	if got, want := setBits(r, true), []int{5, 8, 9, 10, 11}; !slices.Equal(got, want) {
		t.Errorf("const strings %v, want %v", got, want)
	}
	if got, want := setBits(r, false), []int{3, 4, 6}; !slices.Equal(got, want) {
		t.Errorf("invoked %v, want %v", got, want)
	}
	if r.Instructions != 8 || r.Methods != 1 || r.Classes != 1 {
		t.Errorf("instructions %d, methods %d, classes %d; want 8, 1, 1", r.Instructions, r.Methods, r.Classes)
	}
	for _, i := range []int{5, 8} {
		if !r.StringInCode(i) || r.StringInStaticValue(i) {
			t.Errorf("string %d: in code %v, static %v; want code only", i, r.StringInCode(i), r.StringInStaticValue(i))
		}
	}
	for _, i := range []int{9, 10, 11} {
		if r.StringInCode(i) || !r.StringInStaticValue(i) {
			t.Errorf("string %d: in code %v, static %v; want static only", i, r.StringInCode(i), r.StringInStaticValue(i))
		}
	}
	if r.NumConstStrings() != 5 || r.NumInvoked() != 3 {
		t.Errorf("NumConstStrings %d, NumInvoked %d", r.NumConstStrings(), r.NumInvoked())
	}
}

func TestScanCodeMalformed(t *testing.T) {
	tests := []struct {
		name   string
		insns  []uint16
		static []byte
	}{
		{"instruction past end", []uint16{0x000e, 0x001a}, nil},
		{"payload past end", []uint16{0x0100, 9, 0, 0}, nil},
		{"unknown payload", []uint16{0x0500, 0}, nil},
		{"static value truncated", []uint16{0x000e}, []byte{0x02, 0x17}},
		{"static value too deep", []uint16{0x000e}, func() []byte {
			var b []byte
			for range 40 {
				b = append(b, 0x01, 0x1c)
			}
			return append(b, 0x00)
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := codeFile(t, tc.insns, tc.static, 1).ScanCode()
			if r.Malformed != 1 {
				t.Errorf("malformed %d, want 1", r.Malformed)
			}
		})
	}
}

// Many classes sharing one class_data item must not multiply the work past
// the budget.
func TestScanCodeBudget(t *testing.T) {
	insns := make([]uint16, 200)
	for i := range insns {
		insns[i] = 0x0000
	}
	r := codeFile(t, insns, nil, 5000).ScanCode()
	if !r.Truncated {
		t.Errorf("scan of 5000 aliased classes not truncated: %+v", *r)
	}
	r = codeFile(t, insns, nil, 2).ScanCode()
	if r.Truncated || r.Methods != 2 {
		t.Errorf("two classes: %+v", *r)
	}
}
