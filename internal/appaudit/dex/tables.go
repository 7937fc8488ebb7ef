package dex

import (
	"bytes"
	"cmp"
	"fmt"
	"iter"
	"slices"
)

// NumStrings is the size of the string pool.
func (f *File) NumStrings() int { return len(f.strIDs) / stringIDSize }

// NumTypes is the number of type_ids.
func (f *File) NumTypes() int { return len(f.typeIDs) / typeIDSize }

// NumProtos is the number of proto_ids.
func (f *File) NumProtos() int { return len(f.protoIDs) / protoIDSize }

// NumFields is the number of field_ids: fields defined or referenced.
func (f *File) NumFields() int { return len(f.fieldIDs) / fieldIDSize }

// NumMethods is the number of method_ids: methods defined or referenced.
func (f *File) NumMethods() int { return len(f.methodIDs) / methodIDSize }

// NumClasses is the number of classes this file defines (class_defs).
func (f *File) NumClasses() int { return len(f.classDefs) / classDefSize }

// StringError reports unreadable string data.
type StringError struct {
	Index  int    // string index
	Offset uint32 // string_data_off
	Reason string
}

func (e *StringError) Error() string {
	return fmt.Sprintf("dex: string %d at offset %#x: %s", e.Index, e.Offset, e.Reason)
}

// stringAt returns the MUTF-8 bytes of the string_data_item at off, or a
// reason why there is none. It scans for the terminating zero byte without
// bound, so it serves single lookups and error reports; iteration goes
// through the string index.
func (f *File) stringAt(off uint32) ([]byte, string) {
	p, reason := f.stringStart(off)
	if reason != "" {
		return nil, reason
	}
	end := bytes.IndexByte(f.data[p:], 0)
	if end < 0 {
		return nil, "no terminating zero byte"
	}
	return f.data[p : p+end : p+end], ""
}

// stringStart skips the utf16_size (a uleb128 of at most 5 bytes) of the
// string_data_item at off and returns where the MUTF-8 bytes begin.
func (f *File) stringStart(off uint32) (int, string) {
	d := f.data
	if uint64(off) >= uint64(len(d)) {
		return 0, "offset past end of file"
	}
	p := int(off)
	for n := 0; ; n++ {
		if n == 5 {
			return 0, "utf16_size longer than 5 bytes"
		}
		if p >= len(d) {
			return 0, "truncated utf16_size"
		}
		c := d[p]
		p++
		if c < 0x80 {
			return p, ""
		}
	}
}

// stringIndex finds, once per File, where every string starts and ends.
// Scanning each string for its terminating zero on every access would cost
// the file size per string in a hostile file whose string ids all point
// into one long zero-free region; the index visits the strings in offset
// order and scans each stretch of the file at most once, so building it is
// linear in the file size (plus a sort of the offsets, skipped when they are
// in order, as compilers write them). It costs 8 bytes per string.
func (f *File) stringIndex() {
	f.strOnce.Do(func() {
		n := f.NumStrings()
		start := make([]uint32, n)
		sorted := true
		prev := 0
		for i := range n {
			p, reason := f.stringStart(u32(f.strIDs, i*stringIDSize))
			if reason != "" {
				p = 0 // 0 is never a valid start: the header comes first
			}
			start[i] = uint32(p)
			if p < prev {
				sorted = false
			}
			prev = p
		}
		order := make([]uint32, n)
		for i := range order {
			order[i] = uint32(i)
		}
		if !sorted {
			slices.SortFunc(order, func(a, b uint32) int { return cmp.Compare(start[a], start[b]) })
		}
		// Walk from the highest start down: the first zero at or after a
		// start lies before the next higher start, or is that start's.
		end := make([]uint32, n)
		limit, nul := len(f.data), -1
		for k := n - 1; k >= 0; k-- {
			i := order[k]
			p := int(start[i])
			if p == 0 {
				continue
			}
			if j := bytes.IndexByte(f.data[p:limit], 0); j >= 0 {
				nul = p + j
			}
			if nul >= 0 {
				end[i] = uint32(nul)
			}
			limit = p
		}
		f.strStart, f.strEnd = start, end
	})
}

func (f *File) rawString(i int) ([]byte, bool) {
	f.stringIndex()
	p, e := f.strStart[i], f.strEnd[i]
	if e == 0 {
		return nil, false
	}
	return f.data[p:e:e], true
}

// StringData returns string i as raw MUTF-8 bytes without the terminating
// zero. The slice aliases the file data (capacity-limited, so appending to it
// copies). For ASCII text MUTF-8 and UTF-8 are the same bytes.
func (f *File) StringData(i int) ([]byte, error) {
	if i < 0 || i >= f.NumStrings() {
		return nil, fmt.Errorf("dex: string index %d out of range (%d strings)", i, f.NumStrings())
	}
	if b, ok := f.rawString(i); ok {
		return b, nil
	}
	off := u32(f.strIDs, i*stringIDSize)
	_, reason := f.stringAt(off)
	if reason == "" {
		reason = "unreadable" // cannot happen: the index and stringAt agree
	}
	return nil, &StringError{Index: i, Offset: off, Reason: reason}
}

// Strings yields every readable string of the pool in index order as raw
// MUTF-8 bytes aliasing the file. Unreadable entries are skipped; CheckStrings
// counts them.
func (f *File) Strings() iter.Seq2[int, []byte] {
	return func(yield func(int, []byte) bool) {
		for i := range f.NumStrings() {
			if b, ok := f.rawString(i); ok && !yield(i, b) {
				return
			}
		}
	}
}

// TypeDescriptor returns the descriptor of type i ("I", "[B",
// "Lcom/foo/Bar;") as raw MUTF-8 bytes.
func (f *File) TypeDescriptor(i int) ([]byte, error) {
	if i < 0 || i >= f.NumTypes() {
		return nil, fmt.Errorf("dex: type index %d out of range (%d types)", i, f.NumTypes())
	}
	return f.StringData(int(u32(f.typeIDs, i*typeIDSize)))
}

func (f *File) rawType(i int) ([]byte, bool) {
	return f.rawString(int(u32(f.typeIDs, i*typeIDSize)))
}

// Classes yields the descriptor of every class defined in the file, in
// class_defs order, as raw MUTF-8 bytes. Classes whose descriptor is
// unreadable are skipped.
func (f *File) Classes() iter.Seq2[int, []byte] {
	return func(yield func(int, []byte) bool) {
		for i := range f.NumClasses() {
			if b, ok := f.rawType(int(u32(f.classDefs, i*classDefSize))); ok && !yield(i, b) {
				return
			}
		}
	}
}

// Access flags of classes and members that audit rules look at.
const (
	AccPublic       = 0x1
	AccPrivate      = 0x2
	AccStatic       = 0x8
	AccFinal        = 0x10
	AccNative       = 0x100
	AccInterface    = 0x200
	AccAbstract     = 0x400
	AccSynthetic    = 0x1000
	AccAnnotation   = 0x2000
	AccEnum         = 0x4000
	AccConstructor  = 0x10000
	AccDeclaredSync = 0x20000
)

// ClassDef is one class_def_item with its names resolved.
type ClassDef struct {
	Descriptor      []byte
	AccessFlags     uint32
	Superclass      []byte // nil for java.lang.Object
	SourceFile      []byte // nil when absent
	InterfacesOff   uint32
	AnnotationsOff  uint32
	ClassDataOff    uint32
	StaticValuesOff uint32
}

// MethodRef is one method_id_item: a method defined in this file or
// referenced by its code.
type MethodRef struct {
	Class []byte // descriptor of the defining class, "Ljava/lang/Runtime;"
	Name  []byte // "exec", "<init>"
	Proto int    // index into proto_ids; see AppendProto
}

func (f *File) rawMethod(i int) (MethodRef, bool) {
	r := f.methodIDs[i*methodIDSize:]
	c, ok := f.rawType(int(u16(r, 0)))
	if !ok {
		return MethodRef{}, false
	}
	n, ok := f.rawString(int(u32(r, 4)))
	if !ok {
		return MethodRef{}, false
	}
	return MethodRef{Class: c, Name: n, Proto: int(u16(r, 2))}, true
}

// Methods yields every method_id as (class descriptor, name), in index order
// (sorted by class, then name, in a well-formed file). Entries with unreadable
// strings are skipped.
func (f *File) Methods() iter.Seq2[int, MethodRef] {
	return func(yield func(int, MethodRef) bool) {
		for i := range f.NumMethods() {
			if m, ok := f.rawMethod(i); ok && !yield(i, m) {
				return
			}
		}
	}
}

// FieldRef is one field_id_item.
type FieldRef struct {
	Class []byte // defining class descriptor
	Type  []byte // field type descriptor
	Name  []byte
}

func (f *File) rawField(i int) (FieldRef, bool) {
	r := f.fieldIDs[i*fieldIDSize:]
	c, ok1 := f.rawType(int(u16(r, 0)))
	t, ok2 := f.rawType(int(u16(r, 2)))
	n, ok3 := f.rawString(int(u32(r, 4)))
	return FieldRef{Class: c, Type: t, Name: n}, ok1 && ok2 && ok3
}

// Fields yields every field_id (e.g. Landroid/os/Build;->SERIAL). Entries
// with unreadable strings are skipped.
func (f *File) Fields() iter.Seq2[int, FieldRef] {
	return func(yield func(int, FieldRef) bool) {
		for i := range f.NumFields() {
			if fr, ok := f.rawField(i); ok && !yield(i, fr) {
				return
			}
		}
	}
}
