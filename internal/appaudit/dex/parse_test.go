package dex_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/dex"
	"github.com/outflow-dev/outflow/internal/appaudit/dex/dextest"
)

// mutate returns a copy of a built file changed by fn.
func mutate(t *testing.T, fn func(b []byte) []byte) []byte {
	t.Helper()
	b := mustBuild(t, auditSpec)
	return fn(append([]byte(nil), b...))
}

func put32(b []byte, off int, v uint32) []byte {
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		fn   func(b []byte) []byte
		want string
	}{
		{"short", func(b []byte) []byte { return b[:0x40] }, "shorter than"},
		{"bad version digits", func(b []byte) []byte { copy(b[4:], "0x5\x00"); return b }, "malformed version"},
		{"future version", func(b []byte) []byte { copy(b[4:], "099\x00"); return b }, "not supported"},
		{"big endian", func(b []byte) []byte { return put32(b, 40, 0x78563412) }, "big-endian"},
		{"bad endian tag", func(b []byte) []byte { return put32(b, 40, 7) }, "endian tag"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }, "exceeds"},
		{"header size", func(b []byte) []byte { return put32(b, 36, 0x20) }, "header_size"},
		{"string_ids past end", func(b []byte) []byte { return put32(b, 56, 1<<30) }, "string_ids"},
		{"type_ids offset", func(b []byte) []byte { return put32(b, 68, uint32(len(b)-2)) }, "type_ids"},
		{"method_ids zero offset", func(b []byte) []byte { return put32(b, 92, 0) }, "method_ids"},
		{"class_defs size overflow", func(b []byte) []byte { return put32(b, 96, 0xffffffff) }, "class_defs"},
		{"type string index", func(b []byte) []byte {
			return put32(b, int(binary.LittleEndian.Uint32(b[68:])), 0xfffffff0)
		}, "type_ids[0]"},
		{"method class index", func(b []byte) []byte {
			off := int(binary.LittleEndian.Uint32(b[92:]))
			binary.LittleEndian.PutUint16(b[off:], 0xffff)
			return b
		}, "method_ids[0]"},
		{"proto return type", func(b []byte) []byte {
			return put32(b, int(binary.LittleEndian.Uint32(b[76:]))+4, 0xffff)
		}, "proto_ids[0]"},
		{"class superclass", func(b []byte) []byte {
			return put32(b, int(binary.LittleEndian.Uint32(b[100:]))+8, 0xfffe)
		}, "superclass"},
		{"class source file", func(b []byte) []byte {
			return put32(b, int(binary.LittleEndian.Uint32(b[100:]))+16, 0xfffe)
		}, "source file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dex.Parse(mutate(t, tc.fn))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestTrailingBytes(t *testing.T) {
	b := mustBuild(t, auditSpec)
	f, err := dex.Parse(b)
	if err != nil || f.TrailingBytes() != 0 {
		t.Fatalf("clean file: %v, %d trailing bytes", err, f.TrailingBytes())
	}
	f, err = dex.Parse(append(b, "hidden payload"...))
	if err != nil || f.TrailingBytes() != len("hidden payload") {
		t.Fatalf("appended file: %v, %d trailing bytes", err, f.TrailingBytes())
	}
	if err := f.VerifyChecksum(); err != nil {
		t.Errorf("appended bytes are outside the checksum: %v", err)
	}
	c, err := dextest.BuildContainer(auditSpec)
	if err != nil {
		t.Fatal(err)
	}
	files, err := dex.ParseContainer(append(c, 1, 2, 3))
	if err != nil || files[0].TrailingBytes() != 3 {
		t.Fatalf("container: %v", err)
	}
}

func TestChecksumAndSignatureDetectChanges(t *testing.T) {
	b := mutate(t, func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
	f, err := dex.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.VerifyChecksum() == nil {
		t.Error("checksum passed on a changed file")
	}
	if f.VerifySignature() == nil {
		t.Error("signature passed on a changed file")
	}
}

// Bad string data is found when read, reported with index and offset, and
// skipped by the iterators.
func TestBadStringData(t *testing.T) {
	b := mustBuild(t, auditSpec)
	f, err := dex.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	classIdx, ok := f.FindString("Lcom/example/Main;")
	if !ok {
		t.Fatal("class descriptor not in pool")
	}
	strOff := int(f.Header.StringIDsOff)
	tests := []struct {
		name   string
		fn     func(b []byte)
		reason string
	}{
		{"offset past end", func(b []byte) { put32(b, strOff+4*classIdx, uint32(len(b)+10)) }, "past end"},
		{"no terminator", func(b []byte) { put32(b, strOff+4*classIdx, uint32(len(b)-3)); copy(b[len(b)-3:], "\x01ab") }, "no terminating"},
		{"long uleb", func(b []byte) {
			put32(b, strOff+4*classIdx, uint32(len(b)-6))
			copy(b[len(b)-6:], "\xff\xff\xff\xff\xff\xff")
		}, "utf16_size"},
		{"truncated uleb", func(b []byte) { put32(b, strOff+4*classIdx, uint32(len(b)-1)); b[len(b)-1] = 0x80 }, "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := append([]byte(nil), b...)
			tc.fn(c)
			f, err := dex.Parse(c)
			if err != nil {
				t.Fatalf("Parse must not read string data: %v", err)
			}
			_, err = f.StringData(classIdx)
			var se *dex.StringError
			if !errors.As(err, &se) || se.Index != classIdx || !strings.Contains(se.Reason, tc.reason) {
				t.Fatalf("StringData error %v, want dex.StringError for %d with %q", err, classIdx, tc.reason)
			}
			if bad, first := f.CheckStrings(); bad != 1 || first == nil {
				t.Errorf("CheckStrings = %d, %v; want 1 bad", bad, first)
			}
			n := 0
			for _, d := range f.Classes() {
				if string(d) == "Lcom/example/Main;" {
					t.Error("unreadable class yielded")
				}
				n++
			}
			if n != len(auditSpec.Classes)-1 {
				t.Errorf("Classes yielded %d, want %d", n, len(auditSpec.Classes)-1)
			}
			if _, err := f.ClassDescriptor(0); err == nil {
				t.Error("ClassDescriptor(0) of an unreadable class gave no error")
			}
			if _, err := f.Class(0); err == nil {
				t.Error("Class(0) of an unreadable class gave no error")
			}
			// The pool is no longer sorted: lookups fall back to a scan.
			if _, ok := f.FindString("hello"); !ok {
				t.Error("FindString failed on a pool with a bad entry")
			}
			if !f.HasMethod("Ljava/lang/Runtime;", "exec") {
				t.Error("HasMethod failed on a pool with a bad entry")
			}
		})
	}
}

func TestAccessorRanges(t *testing.T) {
	f, err := dex.Parse(mustBuild(t, auditSpec))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		err  error
	}{
		{"string", func() error { _, err := f.StringData(-1); return err }()},
		{"string high", func() error { _, err := f.StringAt(f.NumStrings()); return err }()},
		{"type", func() error { _, err := f.TypeDescriptor(f.NumTypes()); return err }()},
		{"class", func() error { _, err := f.ClassDescriptor(f.NumClasses()); return err }()},
		{"classdef", func() error { _, err := f.Class(-1); return err }()},
		{"method", func() error { _, err := f.Method(f.NumMethods()); return err }()},
		{"field", func() error { _, err := f.Field(0); return err }()},
		{"proto", func() error { _, err := f.AppendProto(nil, f.NumProtos()); return err }()},
	}
	for _, c := range checks {
		if c.err == nil {
			t.Errorf("%s: out-of-range index gave no error", c.name)
		}
	}
	m, err := f.Method(0)
	if err != nil || len(m.Class) == 0 || len(m.Name) == 0 {
		t.Errorf("Method(0) = %+v, %v", m, err)
	}
	s, err := f.StringAt(0)
	if err != nil || s != "" {
		t.Errorf("String(0) = %q, %v; the empty string sorts first", s, err)
	}
}

// Field references are resolved; the builder writes none, so patch a file
// by hand: reuse the method table as a field table (same 8-byte layout
// class_idx, type_idx, name_idx; the proto index is read as a type index).
func TestFields(t *testing.T) {
	b := mustBuild(t, auditSpec)
	f0, err := dex.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	put32(b, 80, f0.Header.MethodIDsSize)
	put32(b, 84, f0.Header.MethodIDsOff)
	f, err := dex.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.NumFields() != f.NumMethods() {
		t.Fatalf("%d fields, %d methods", f.NumFields(), f.NumMethods())
	}
	n := 0
	for i, fr := range f.Fields() {
		m, _ := f.Method(i)
		if string(fr.Class) != string(m.Class) || string(fr.Name) != string(m.Name) || len(fr.Type) == 0 {
			t.Errorf("field %d = %s %s %s, method %s %s", i, fr.Class, fr.Type, fr.Name, m.Class, m.Name)
		}
		n++
	}
	if n != f.NumFields() {
		t.Errorf("Fields yielded %d of %d", n, f.NumFields())
	}
	if _, err := f.Field(0); err != nil {
		t.Error(err)
	}
}

func TestIteratorsStopEarly(t *testing.T) {
	f, err := dex.Parse(mustBuild(t, auditSpec))
	if err != nil {
		t.Fatal(err)
	}
	count := func(seq func(func(int, []byte) bool)) int {
		n := 0
		seq(func(int, []byte) bool { n++; return false })
		return n
	}
	if count(f.Strings()) != 1 || count(f.Classes()) != 1 || count(f.ConstStrings()) != 1 {
		t.Error("iterator did not stop after the first yield")
	}
	n := 0
	f.Methods()(func(int, dex.MethodRef) bool { n++; return false })
	f.InvokedMethods()(func(int, dex.MethodRef) bool { n++; return false })
	f.FindMethods("Ljava/lang/Runtime;", "exec")(func(int) bool { n++; return false })
	if n != 3 {
		t.Errorf("method iterators yielded %d times, want 3", n)
	}
}

// A hostile file can point many string ids into one long zero-free region.
// Reading each by scanning for its terminator would take the region size
// per string (here 200k x 4 MiB, hours); the string index reads the region
// once. The test has no timing assertion: the quadratic version would hit
// the test timeout.
func TestHostileOverlappingStrings(t *testing.T) {
	b := mustBuild(t, auditSpec)
	f0, err := dex.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	const extra = 200_000
	tableOff := len(b)
	b = append(b, b[f0.Header.StringIDsOff:f0.Header.StringIDsOff+4*f0.Header.StringIDsSize]...)
	region := tableOff + 4*(int(f0.Header.StringIDsSize)+extra)
	for range extra {
		b = binary.LittleEndian.AppendUint32(b, uint32(region))
	}
	// The region runs to the end of the file: no zero byte follows it.
	b = append(b, 0x05) // utf16_size
	b = append(b, bytes.Repeat([]byte{'A'}, 4<<20)...)
	put32(b, 32, uint32(len(b)))
	put32(b, 56, f0.Header.StringIDsSize+extra)
	put32(b, 60, uint32(tableOff))
	f, err := dex.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range f.Strings() {
		n++
	}
	if n != int(f0.Header.StringIDsSize) {
		t.Errorf("%d readable strings, want the %d original ones", n, f0.Header.StringIDsSize)
	}
	if bad, _ := f.CheckStrings(); bad != extra {
		t.Errorf("%d bad strings, want %d", bad, extra)
	}
	if !f.HasMethod("Ljava/lang/Runtime;", "exec") {
		t.Error("original method lost")
	}
}
