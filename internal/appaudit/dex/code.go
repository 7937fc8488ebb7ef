package dex

import (
	"iter"
)

// CodeRefs is what ScanCode found in the method bodies and static field
// initialisers of a file.
type CodeRefs struct {
	codeStrings   []uint64 // bit set over string indices: const-string operands
	staticStrings []uint64 // bit set over string indices: static field initial values
	invoked       []uint64 // bit set over method indices

	Classes      int // class_data items read
	Methods      int // methods with a code item
	Instructions int // instructions decoded
	// Malformed counts class_data, code and static-value items that could
	// not be read to their end; what was read before the fault still counts.
	Malformed int
	// Truncated is set when the scan stopped at its work budget (a multiple
	// of the file size), which only a file whose items overlap on purpose
	// reaches.
	Truncated bool
}

func newBits(n int) []uint64 { return make([]uint64, (n+63)/64) }

func setBit(s []uint64, i int) {
	if i >= 0 && i/64 < len(s) {
		s[i/64] |= 1 << (uint(i) % 64)
	}
}

func hasBit(s []uint64, i int) bool {
	return i >= 0 && i/64 < len(s) && s[i/64]&(1<<(uint(i)%64)) != 0
}

// StringLoaded reports whether string i is loaded by a const-string
// instruction or is the initial value of a static field.
func (r *CodeRefs) StringLoaded(i int) bool {
	return hasBit(r.codeStrings, i) || hasBit(r.staticStrings, i)
}

// MethodInvoked reports whether some invoke instruction calls method i.
func (r *CodeRefs) MethodInvoked(i int) bool { return hasBit(r.invoked, i) }

// ScanCode walks every class_data item, code item and static-values array
// once and records which strings the code loads as constants and which
// methods it invokes. The result is computed on first use and cached. It
// reads untrusted offsets defensively: faults are counted, not returned.
func (f *File) ScanCode() *CodeRefs {
	f.codeOnce.Do(func() { f.code = f.scanCode() })
	return f.code
}

// ConstStrings yields the strings that code loads with const-string or that
// initialise static fields: the string constants of the program, as opposed
// to the pool, which also holds every type, member name and debug name.
func (f *File) ConstStrings() iter.Seq2[int, []byte] {
	r := f.ScanCode()
	return func(yield func(int, []byte) bool) {
		for i := range f.NumStrings() {
			if !r.StringLoaded(i) {
				continue
			}
			if b, ok := f.rawString(i); ok && !yield(i, b) {
				return
			}
		}
	}
}

// reader is a bounds-checked cursor over the file.
type reader struct {
	d   []byte
	p   int
	bad bool
}

func (r *reader) uleb() uint32 {
	var v uint32
	for i := 0; i < 5; i++ {
		if r.p >= len(r.d) {
			r.bad = true
			return 0
		}
		c := r.d[r.p]
		r.p++
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v
		}
	}
	r.bad = true
	return 0
}

func (r *reader) skip(n int) {
	if n < 0 || n > len(r.d)-r.p {
		r.bad = true
		r.p = len(r.d)
		return
	}
	r.p += n
}

type scanner struct {
	f      *File
	out    *CodeRefs
	budget int // remaining units of work
}

func (f *File) scanCode() *CodeRefs {
	out := &CodeRefs{
		codeStrings:   newBits(f.NumStrings()),
		staticStrings: newBits(f.NumStrings()),
		invoked:       newBits(f.NumMethods()),
	}
	s := &scanner{f: f, out: out, budget: 8*len(f.data) + 1024}
	for i := range f.NumClasses() {
		r := f.classDefs[i*classDefSize:]
		if off := u32(r, 24); off != 0 {
			s.classData(off)
		}
		if off := u32(r, 28); off != 0 {
			s.staticValues(off)
		}
		if out.Truncated {
			break
		}
	}
	return out
}

func (s *scanner) spend(n int) bool {
	s.budget -= n
	if s.budget < 0 {
		s.out.Truncated = true
		return false
	}
	return true
}

func (s *scanner) classData(off uint32) {
	if uint64(off) >= uint64(len(s.f.data)) {
		s.out.Malformed++
		return
	}
	r := &reader{d: s.f.data, p: int(off)}
	sf, inf, dm, vm := r.uleb(), r.uleb(), r.uleb(), r.uleb()
	if r.bad {
		s.out.Malformed++
		return
	}
	s.out.Classes++
	for n := uint64(sf) + uint64(inf); n > 0 && !r.bad; n-- {
		r.uleb()
		r.uleb()
		if !s.spend(2) {
			return
		}
	}
	for _, n := range [2]uint32{dm, vm} {
		idx := uint32(0)
		for ; n > 0 && !r.bad; n-- {
			idx += r.uleb()
			r.uleb() // access_flags
			code := r.uleb()
			if r.bad || !s.spend(3) {
				break
			}
			if code != 0 {
				s.codeItem(code)
			}
		}
	}
	if r.bad {
		s.out.Malformed++
	}
}

// opWidth is the size in 16-bit code units of each Dalvik opcode, from the
// instruction-format table of the specification. Unused opcodes count as one
// unit so that a sweep over them keeps going.
var opWidth = func() (w [256]uint8) {
	for i := range w {
		w[i] = 1
	}
	set := func(lo, hi int, n uint8) {
		for i := lo; i <= hi; i++ {
			w[i] = n
		}
	}
	set(0x02, 0x02, 2) // move/from16
	set(0x03, 0x03, 3) // move/16
	set(0x05, 0x05, 2)
	set(0x06, 0x06, 3)
	set(0x08, 0x08, 2)
	set(0x09, 0x09, 3)
	set(0x13, 0x13, 2) // const/16
	set(0x14, 0x14, 3) // const
	set(0x15, 0x16, 2) // const/high16, const-wide/16
	set(0x17, 0x17, 3) // const-wide/32
	set(0x18, 0x18, 5) // const-wide
	set(0x19, 0x19, 2) // const-wide/high16
	set(0x1a, 0x1a, 2) // const-string
	set(0x1b, 0x1b, 3) // const-string/jumbo
	set(0x1c, 0x1c, 2) // const-class
	set(0x1f, 0x20, 2) // check-cast, instance-of
	set(0x22, 0x23, 2) // new-instance, new-array
	set(0x24, 0x26, 3) // filled-new-array(/range), fill-array-data
	set(0x29, 0x29, 2) // goto/16
	set(0x2a, 0x2c, 3) // goto/32, packed-switch, sparse-switch
	set(0x2d, 0x3d, 2) // cmp*, if-*
	set(0x44, 0x6d, 2) // aget/aput, iget/iput, sget/sput
	set(0x6e, 0x72, 3) // invoke-*
	set(0x74, 0x78, 3) // invoke-*/range
	set(0x90, 0xaf, 2) // binop
	set(0xd0, 0xe2, 2) // binop/lit16, binop/lit8
	set(0xfa, 0xfb, 4) // invoke-polymorphic(/range)
	set(0xfc, 0xfd, 3) // invoke-custom(/range)
	set(0xfe, 0xff, 2) // const-method-handle, const-method-type
	return w
}()

func (s *scanner) codeItem(off uint32) {
	d := s.f.data
	if uint64(off)+16 > uint64(len(d)) {
		s.out.Malformed++
		return
	}
	n := u32(d, int(off)+12) // insns_size in code units
	start := int(off) + 16
	if uint64(n)*2 > uint64(len(d)-start) {
		s.out.Malformed++
		return
	}
	if !s.spend(int(n)) {
		return
	}
	s.out.Methods++
	insns := d[start : start+int(n)*2]
	units := int(n)
	for pc := 0; pc < units; {
		unit := u16(insns, pc*2)
		op := unit & 0xff
		width := int(opWidth[op])
		if op == 0 && unit != 0 {
			width = payloadWidth(insns, pc, units)
			if width == 0 {
				s.out.Malformed++
				return
			}
			pc += width
			continue
		}
		if pc+width > units {
			s.out.Malformed++
			return
		}
		s.out.Instructions++
		switch {
		case op == 0x1a:
			setBit(s.out.codeStrings, int(u16(insns, pc*2+2)))
		case op == 0x1b:
			setBit(s.out.codeStrings, int(u32(insns, pc*2+2)))
		case op >= 0x6e && op <= 0x72, op >= 0x74 && op <= 0x78, op == 0xfa, op == 0xfb:
			setBit(s.out.invoked, int(u16(insns, pc*2+2)))
		}
		pc += width
	}
}

// payloadWidth returns the size in code units of the switch or array
// payload at pc, or 0 when it is not one or does not fit.
func payloadWidth(insns []byte, pc, units int) int {
	if pc+2 > units {
		return 0
	}
	ident := u16(insns, pc*2)
	size := uint64(u16(insns, pc*2+2))
	var w uint64
	switch ident {
	case 0x0100: // packed-switch-payload: ident, size, first_key, targets
		w = 4 + size*2
	case 0x0200: // sparse-switch-payload: ident, size, keys, targets
		w = 2 + size*4
	case 0x0300: // fill-array-data-payload: ident, width, size(uint), data
		if pc+4 > units {
			return 0
		}
		elem := size
		count := uint64(u32(insns, pc*2+4))
		w = 4 + (elem*count+1)/2
	default:
		return 0
	}
	if w > uint64(units-pc) {
		return 0
	}
	return int(w)
}

// Encoded value types (value_type in encoded_value).
const (
	valueString     = 0x17
	valueArray      = 0x1c
	valueAnnotation = 0x1d
	valueNull       = 0x1e
	valueBoolean    = 0x1f
)

func (s *scanner) staticValues(off uint32) {
	if uint64(off) >= uint64(len(s.f.data)) {
		s.out.Malformed++
		return
	}
	r := &reader{d: s.f.data, p: int(off)}
	s.encodedArray(r, 0)
	if r.bad {
		s.out.Malformed++
	}
}

const maxValueDepth = 16

func (s *scanner) encodedArray(r *reader, depth int) {
	for n := r.uleb(); n > 0 && !r.bad; n-- {
		s.encodedValue(r, depth)
	}
}

func (s *scanner) encodedValue(r *reader, depth int) {
	if r.p >= len(r.d) || depth > maxValueDepth || !s.spend(1) {
		r.bad = true
		return
	}
	h := r.d[r.p]
	r.p++
	typ, arg := h&0x1f, int(h>>5)
	switch typ {
	case valueArray:
		s.encodedArray(r, depth+1)
	case valueAnnotation:
		r.uleb() // type_idx
		for n := r.uleb(); n > 0 && !r.bad; n-- {
			r.uleb() // name_idx
			s.encodedValue(r, depth+1)
		}
	case valueNull, valueBoolean:
	case valueString:
		size := arg + 1
		if size > 4 || size > len(r.d)-r.p {
			r.bad = true
			return
		}
		var idx uint32
		for i := 0; i < size; i++ {
			idx |= uint32(r.d[r.p+i]) << (8 * i)
		}
		r.p += size
		setBit(s.out.staticStrings, int(idx))
	default:
		r.skip(arg + 1)
	}
}
