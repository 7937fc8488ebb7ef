package dex

// Accessors and checks that only the tests use: the auditor reads a DEX
// file through ParseContainer, the iterators and ScanCode, and nothing in
// the binary needs to look a string up, verify a checksum or unwrap an
// ODEX file. They stay here, beside the parser's internals they read, so
// that the tests (this package's and dex_test's) keep using them.

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"hash/adler32"
	"iter"
	"math/bits"
)

// From dex.go.

// Parse parses the DEX file at the start of data. For a version 041
// container holding several DEX files it parses the first one; use
// ParseContainer to get all of them.
func Parse(data []byte) (*File, error) {
	return parseAt(data, 0)
}

// TrailingBytes is the number of input bytes after the end the header
// declares (file_size, or container_size for version 041). The runtime
// ignores them; data appended to a DEX file is a place to hide a payload.
func (f *File) TrailingBytes() int { return f.trailing }

// VerifyChecksum recomputes the Adler-32 checksum of the file and compares it
// with the header. A mismatch means corruption or tampering after the build.
func (f *File) VerifyChecksum() error {
	start, end := f.hdr+12, f.hdr+int(f.Header.FileSize)
	if end > len(f.data) || start > end {
		return fmt.Errorf("dex: file_size %d leaves no checksummed bytes", f.Header.FileSize)
	}
	if got := adler32.Checksum(f.data[start:end]); got != f.Header.Checksum {
		return fmt.Errorf("dex: checksum %#08x in header, %#08x computed", f.Header.Checksum, got)
	}
	return nil
}

// VerifySignature recomputes the SHA-1 signature of the file and compares it
// with the header.
func (f *File) VerifySignature() error {
	start, end := f.hdr+32, f.hdr+int(f.Header.FileSize)
	if end > len(f.data) || start > end {
		return fmt.Errorf("dex: file_size %d leaves no signed bytes", f.Header.FileSize)
	}
	if got := sha1.Sum(f.data[start:end]); got != f.Header.Signature {
		return fmt.Errorf("dex: SHA-1 signature %x in header, %x computed", f.Header.Signature, got)
	}
	return nil
}

// ODEXPayload returns the DEX file wrapped in a Dalvik ODEX file ("dey\n"
// magic): its header stores the DEX offset at byte 8 and length at byte 12.
func ODEXPayload(data []byte) ([]byte, error) {
	if Detect(data) != KindODEX {
		return nil, fmt.Errorf("dex: not an ODEX file: %w", ErrNotDex)
	}
	if len(data) < 40 {
		return nil, fmt.Errorf("dex: ODEX header truncated (%d bytes)", len(data))
	}
	off, n := uint64(u32(data, 8)), uint64(u32(data, 12))
	if off+n > uint64(len(data)) {
		return nil, fmt.Errorf("dex: ODEX payload at %#x+%d runs past the %d-byte file", off, n, len(data))
	}
	return data[off : off+n], nil
}

// From tables.go.

// StringAt returns string i decoded to a Go string (see DecodeMUTF8).
func (f *File) StringAt(i int) (string, error) {
	b, err := f.StringData(i)
	if err != nil {
		return "", err
	}
	return DecodeMUTF8(b), nil
}

// CheckStrings reads every string of the pool and returns how many are
// unreadable, with the first such error.
func (f *File) CheckStrings() (bad int, first error) {
	for i := range f.NumStrings() {
		if _, ok := f.rawString(i); !ok {
			if bad == 0 {
				_, first = f.StringData(i)
			}
			bad++
		}
	}
	return bad, first
}

// ClassDescriptor returns the descriptor of the class defined by
// class_defs[i].
func (f *File) ClassDescriptor(i int) ([]byte, error) {
	if i < 0 || i >= f.NumClasses() {
		return nil, fmt.Errorf("dex: class index %d out of range (%d classes)", i, f.NumClasses())
	}
	return f.TypeDescriptor(int(u32(f.classDefs, i*classDefSize)))
}

// Class returns class_defs[i].
func (f *File) Class(i int) (ClassDef, error) {
	var c ClassDef
	if i < 0 || i >= f.NumClasses() {
		return c, fmt.Errorf("dex: class index %d out of range (%d classes)", i, f.NumClasses())
	}
	r := f.classDefs[i*classDefSize : (i+1)*classDefSize]
	var err error
	if c.Descriptor, err = f.TypeDescriptor(int(u32(r, 0))); err != nil {
		return c, fmt.Errorf("dex: class %d: %w", i, err)
	}
	c.AccessFlags = u32(r, 4)
	if s := u32(r, 8); s != noIndex {
		if c.Superclass, err = f.TypeDescriptor(int(s)); err != nil {
			return c, fmt.Errorf("dex: class %d superclass: %w", i, err)
		}
	}
	c.InterfacesOff = u32(r, 12)
	if s := u32(r, 16); s != noIndex {
		if c.SourceFile, err = f.StringData(int(s)); err != nil {
			return c, fmt.Errorf("dex: class %d source file: %w", i, err)
		}
	}
	c.AnnotationsOff, c.ClassDataOff, c.StaticValuesOff = u32(r, 20), u32(r, 24), u32(r, 28)
	return c, nil
}

// Method returns method_ids[i].
func (f *File) Method(i int) (MethodRef, error) {
	if i < 0 || i >= f.NumMethods() {
		return MethodRef{}, fmt.Errorf("dex: method index %d out of range (%d methods)", i, f.NumMethods())
	}
	r := f.methodIDs[i*methodIDSize:]
	c, err := f.TypeDescriptor(int(u16(r, 0)))
	if err != nil {
		return MethodRef{}, fmt.Errorf("dex: method %d class: %w", i, err)
	}
	n, err := f.StringData(int(u32(r, 4)))
	if err != nil {
		return MethodRef{}, fmt.Errorf("dex: method %d name: %w", i, err)
	}
	return MethodRef{Class: c, Name: n, Proto: int(u16(r, 2))}, nil
}

// Field returns field_ids[i].
func (f *File) Field(i int) (FieldRef, error) {
	if i < 0 || i >= f.NumFields() {
		return FieldRef{}, fmt.Errorf("dex: field index %d out of range (%d fields)", i, f.NumFields())
	}
	fr, ok := f.rawField(i)
	if !ok {
		return FieldRef{}, fmt.Errorf("dex: field %d: unreadable class, type or name string", i)
	}
	return fr, nil
}

// AppendProto appends the descriptor of proto_ids[p], such as
// "(Ljava/lang/String;)Ljava/lang/Process;", to dst.
func (f *File) AppendProto(dst []byte, p int) ([]byte, error) {
	if p < 0 || p >= f.NumProtos() {
		return dst, fmt.Errorf("dex: proto index %d out of range (%d protos)", p, f.NumProtos())
	}
	r := f.protoIDs[p*protoIDSize:]
	dst = append(dst, '(')
	if off := u32(r, 8); off != 0 {
		if uint64(off)+4 > uint64(len(f.data)) {
			return dst, fmt.Errorf("dex: proto %d: parameter list offset %#x past end of file", p, off)
		}
		n := u32(f.data, int(off))
		if uint64(off)+4+2*uint64(n) > uint64(len(f.data)) {
			return dst, fmt.Errorf("dex: proto %d: %d parameters at %#x run past end of file", p, n, off)
		}
		for k := range int(n) {
			t := int(u16(f.data, int(off)+4+2*k))
			d, err := f.TypeDescriptor(t)
			if err != nil {
				return dst, fmt.Errorf("dex: proto %d parameter %d: %w", p, k, err)
			}
			dst = append(dst, d...)
		}
	}
	dst = append(dst, ')')
	d, err := f.TypeDescriptor(int(u32(r, 4)))
	if err != nil {
		return dst, fmt.Errorf("dex: proto %d return type: %w", p, err)
	}
	return append(dst, d...), nil
}

// StringsSorted reports, once per File, whether the string pool is in the
// order the specification requires (strictly increasing UTF-16 order, all
// strings readable). ART's verifier rejects files where it is not, but a
// hostile file need not be loadable to be inspected, so lookups fall back to
// a linear scan.
func (f *File) StringsSorted() bool {
	f.sortOnce.Do(func() {
		var prev []byte
		for i := range f.NumStrings() {
			b, ok := f.rawString(i)
			if !ok || (i > 0 && CompareMUTF8(prev, b) >= 0) {
				return
			}
			prev = b
		}
		f.sorted = true
	})
	return f.sorted
}

// FindString returns the index of the string equal to s, if the pool has
// it. It binary-searches a well-ordered pool and scans any other.
func (f *File) FindString(s string) (int, bool) {
	key, _ := EncodeMUTF8(s)
	return f.findRaw(key)
}

func (f *File) findRaw(key []byte) (int, bool) {
	n := f.NumStrings()
	if f.StringsSorted() {
		lo, hi := 0, n
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			b, _ := f.rawString(m)
			if CompareMUTF8(b, key) < 0 {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if lo < n {
			if b, _ := f.rawString(lo); bytes.Equal(b, key) {
				return lo, true
			}
		}
		return 0, false
	}
	for i := range n {
		if b, ok := f.rawString(i); ok && bytes.Equal(b, key) {
			return i, true
		}
	}
	return 0, false
}

// FindType returns the index of the type with descriptor desc, if any.
func (f *File) FindType(desc string) (int, bool) {
	s, ok := f.FindString(desc)
	if !ok {
		return 0, false
	}
	return f.typeOfString(uint32(s))
}

func (f *File) typeOfString(s uint32) (int, bool) {
	for i := range f.NumTypes() { // 64k entries at most; a scan is cheap
		if u32(f.typeIDs, i*typeIDSize) == s {
			return i, true
		}
	}
	return 0, false
}

// FindMethods yields the index of every method_id whose class descriptor is
// class and whose name is name, one per overload: FindMethods(
// "Ljava/lang/Runtime;", "exec") finds all Runtime.exec references.
func (f *File) FindMethods(class, name string) iter.Seq[int] {
	return func(yield func(int) bool) {
		t, ok := f.FindType(class)
		if !ok {
			return
		}
		s, ok := f.FindString(name)
		if !ok {
			return
		}
		for i := range f.NumMethods() {
			r := f.methodIDs[i*methodIDSize:]
			if int(u16(r, 0)) == t && int(u32(r, 4)) == s && !yield(i) {
				return
			}
		}
	}
}

// HasMethod reports whether the file defines or references class->name.
func (f *File) HasMethod(class, name string) bool {
	for range f.FindMethods(class, name) {
		return true
	}
	return false
}

// From code.go.

func countBits(s []uint64) int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// StringInCode reports whether a const-string instruction loads string i.
func (r *CodeRefs) StringInCode(i int) bool { return hasBit(r.codeStrings, i) }

// StringInStaticValue reports whether string i initialises a static field.
func (r *CodeRefs) StringInStaticValue(i int) bool { return hasBit(r.staticStrings, i) }

// NumConstStrings is the number of distinct strings loaded by code or used
// as static initial values.
func (r *CodeRefs) NumConstStrings() int {
	n := 0
	for i, w := range r.codeStrings {
		n += bits.OnesCount64(w | r.staticStrings[i])
	}
	return n
}

// NumInvoked is the number of distinct methods invoked.
func (r *CodeRefs) NumInvoked() int { return countBits(r.invoked) }

// InvokedMethods yields the methods that some invoke instruction calls: a
// stronger signal than a method_id, which may belong to a method this file
// only defines.
func (f *File) InvokedMethods() iter.Seq2[int, MethodRef] {
	r := f.ScanCode()
	return func(yield func(int, MethodRef) bool) {
		for i := range f.NumMethods() {
			if !r.MethodInvoked(i) {
				continue
			}
			if m, ok := f.rawMethod(i); ok && !yield(i, m) {
				return
			}
		}
	}
}

// From stats.go.

// NonPrintableFraction is NonPrintable / Strings.
func (s StringStats) NonPrintableFraction() float64 { return frac(s.NonPrintable, s.Strings) }

// NonASCIIFraction is NonASCII / Strings.
func (s StringStats) NonASCIIFraction() float64 { return frac(s.NonASCII, s.Strings) }
