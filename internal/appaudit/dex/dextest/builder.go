package dextest

import (
	"cmp"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"slices"
	"strings"

	"github.com/outflow-dev/outflow/internal/appaudit/dex"
)

// Sizes and markers of the DEX specification that the writer needs.
const (
	headerSize    = 0x70 // header_item up to version 040
	headerSizeV41 = 0x78 // plus container_size and header_offset
	endianTag     = 0x12345678
	noIndex       = 0xffffffff
)

// Spec describes a DEX file for Build.
type Spec struct {
	// Version of the file, 35 to 41 (0 means 35). Version 41 writes a
	// container with this one entry; see BuildContainer for more.
	Version int
	// Classes are the descriptors of the classes to define
	// ("Lcom/foo/Bar;"), each extending java.lang.Object, with no members.
	Classes []string
	// Strings are string constants: the first class gets a static
	// initialiser that loads each with const-string.
	Strings []string
	// Methods are invoked, in order, by the same static initialiser.
	Methods []MethodSpec
}

// MethodSpec names a method to reference and invoke.
type MethodSpec struct {
	Class string // "Ldalvik/system/DexClassLoader;"
	Name  string // "<init>"
	Proto string // "(Ljava/lang/String;)V"; empty means "()V"
}

// Build writes a minimal valid DEX file. Besides what spec asks for, it
// holds "Ljava/lang/Object;" (the superclass) and, when spec has strings or
// methods, the static initialiser "<clinit>()V" of the first class, whose
// code loads every string and invokes every method (invoke-static/range, so
// the code is well formed but would not pass ART's verifier for instance
// methods). Strings, types, protos and methods are deduplicated and sorted as
// the specification requires; checksum and signature are filled in.
//
// A DEX file can index at most 65536 types and methods; spread larger
// synthetic apps over several files (classes.dex, classes2.dex, ...).
func Build(spec Spec) ([]byte, error) {
	if spec.Version == 41 {
		return BuildContainer(spec)
	}
	return build(spec, 0)
}

// BuildContainer writes a version 041 container holding one DEX entry per
// spec (the Version fields are ignored).
func BuildContainer(specs ...Spec) ([]byte, error) {
	if len(specs) == 0 {
		return nil, errors.New("dex: build: container needs at least one entry")
	}
	var out []byte
	var starts []int
	for i, s := range specs {
		s.Version = 41
		starts = append(starts, len(out))
		b, err := build(s, len(out))
		if err != nil {
			return nil, fmt.Errorf("dex: build: container entry %d: %w", i, err)
		}
		out = append(out, b...)
	}
	for _, st := range starts {
		binary.LittleEndian.PutUint32(out[st+112:], uint32(len(out)))
		seal(out[st : st+int(binary.LittleEndian.Uint32(out[st+32:]))])
	}
	return out, nil
}

// seal writes signature then checksum of one DEX entry.
func seal(b []byte) {
	sum := sha1.Sum(b[32:])
	copy(b[12:32], sum[:])
	binary.LittleEndian.PutUint32(b[8:], adler32.Checksum(b[12:]))
}

type protoKey struct {
	ret    string
	params string // descriptors joined with "\x00"
}

type builtProto struct {
	key    protoKey
	shorty string
	ret    int
	params []int
	list   int // offset of its type_list, 0 when none
}

type builtMethod struct {
	class, name, proto int
}

// build lays out one DEX file whose offsets start at base (non-zero only for
// later entries of a v41 container).
func build(spec Spec, base int) ([]byte, error) {
	version := spec.Version
	if version == 0 {
		version = 35
	}
	if version < dex.MinVersion || version > dex.MaxVersion {
		return nil, fmt.Errorf("dex: build: version %d outside %d..%d", version, dex.MinVersion, dex.MaxVersion)
	}
	hsize := headerSize
	if version >= 41 {
		hsize = headerSizeV41
	}
	const object = "Ljava/lang/Object;"

	classes := slices.Clone(spec.Classes)
	seenClass := make(map[string]bool, len(classes))
	for _, c := range classes {
		if !isClassDescriptor(c) {
			return nil, fmt.Errorf("dex: build: %q is not a class descriptor", c)
		}
		if seenClass[c] {
			return nil, fmt.Errorf("dex: build: class %q defined twice", c)
		}
		seenClass[c] = true
	}
	// A superclass must be defined before its subclasses.
	if i := slices.Index(classes, object); i > 0 {
		classes = slices.Delete(classes, i, i+1)
		classes = slices.Insert(classes, 0, object)
	}
	withCode := len(spec.Strings) > 0 || len(spec.Methods) > 0
	if withCode && len(classes) == 0 {
		return nil, errors.New("dex: build: strings or methods need at least one class to hold the code")
	}

	strs := make(map[string]struct{})
	types := make(map[string]struct{})
	addType := func(t string) { types[t] = struct{}{}; strs[t] = struct{}{} }
	addType(object)
	for _, c := range classes {
		addType(c)
	}
	for _, s := range spec.Strings {
		strs[s] = struct{}{}
	}
	protos := make(map[protoKey]*builtProto)
	addProto := func(p string) (protoKey, error) {
		if p == "" {
			p = "()V"
		}
		ret, params, err := parseProto(p)
		if err != nil {
			return protoKey{}, err
		}
		k := protoKey{ret: ret, params: strings.Join(params, "\x00")}
		if _, ok := protos[k]; !ok {
			shorty := []byte{shortyOf(ret)}
			for _, t := range params {
				shorty = append(shorty, shortyOf(t))
			}
			protos[k] = &builtProto{key: k, shorty: string(shorty)}
			strs[string(shorty)] = struct{}{}
			addType(ret)
			for _, t := range params {
				addType(t)
			}
		}
		return k, nil
	}
	type methodKey struct {
		class, name string
		proto       protoKey
	}
	var calls []methodKey
	for _, m := range spec.Methods {
		if !isClassDescriptor(m.Class) && !(strings.HasPrefix(m.Class, "[") && isTypeDescriptor(m.Class)) {
			return nil, fmt.Errorf("dex: build: method %s->%s: bad class descriptor", m.Class, m.Name)
		}
		if m.Name == "" {
			return nil, fmt.Errorf("dex: build: method of %s has no name", m.Class)
		}
		k, err := addProto(m.Proto)
		if err != nil {
			return nil, fmt.Errorf("dex: build: method %s->%s: %w", m.Class, m.Name, err)
		}
		addType(m.Class)
		strs[m.Name] = struct{}{}
		calls = append(calls, methodKey{m.Class, m.Name, k})
	}
	var clinit methodKey
	if withCode {
		k, _ := addProto("()V")
		clinit = methodKey{classes[0], "<clinit>", k}
		strs["<clinit>"] = struct{}{}
	}

	// Sort and index the string pool in UTF-16 order.
	type enc struct {
		s     string
		b     []byte
		units int
	}
	pool := make([]enc, 0, len(strs))
	for s := range strs {
		b, n := dex.EncodeMUTF8(s)
		pool = append(pool, enc{s, b, n})
	}
	slices.SortFunc(pool, func(a, b enc) int { return dex.CompareMUTF8(a.b, b.b) })
	strIdx := make(map[string]int, len(pool))
	for i, e := range pool {
		strIdx[e.s] = i
	}

	typeList := make([]string, 0, len(types))
	for t := range types {
		typeList = append(typeList, t)
	}
	slices.SortFunc(typeList, func(a, b string) int { return cmp.Compare(strIdx[a], strIdx[b]) })
	if len(typeList) > 1<<16 {
		return nil, fmt.Errorf("dex: build: %d types, at most 65536 fit in one DEX file", len(typeList))
	}
	typeIdx := make(map[string]int, len(typeList))
	for i, t := range typeList {
		typeIdx[t] = i
	}

	protoList := make([]*builtProto, 0, len(protos))
	for _, p := range protos {
		p.ret = typeIdx[p.key.ret]
		p.params = nil
		if p.key.params != "" {
			for _, t := range strings.Split(p.key.params, "\x00") {
				p.params = append(p.params, typeIdx[t])
			}
		}
		protoList = append(protoList, p)
	}
	slices.SortFunc(protoList, func(a, b *builtProto) int {
		if c := cmp.Compare(a.ret, b.ret); c != 0 {
			return c
		}
		return slices.Compare(a.params, b.params)
	})
	if len(protoList) > 1<<16 {
		return nil, fmt.Errorf("dex: build: %d protos, at most 65536 fit in one DEX file", len(protoList))
	}
	protoIdx := make(map[protoKey]int, len(protoList))
	for i, p := range protoList {
		protoIdx[p.key] = i
	}

	methodSet := make(map[builtMethod]struct{})
	resolve := func(m methodKey) builtMethod {
		return builtMethod{typeIdx[m.class], strIdx[m.name], protoIdx[m.proto]}
	}
	for _, m := range calls {
		methodSet[resolve(m)] = struct{}{}
	}
	if withCode {
		methodSet[resolve(clinit)] = struct{}{}
	}
	methods := make([]builtMethod, 0, len(methodSet))
	for m := range methodSet {
		methods = append(methods, m)
	}
	slices.SortFunc(methods, func(a, b builtMethod) int {
		if c := cmp.Compare(a.class, b.class); c != 0 {
			return c
		}
		if c := cmp.Compare(a.name, b.name); c != 0 {
			return c
		}
		return cmp.Compare(a.proto, b.proto)
	})
	if len(methods) > 1<<16 {
		return nil, fmt.Errorf("dex: build: %d methods, at most 65536 fit in one DEX file", len(methods))
	}
	methodIdx := make(map[builtMethod]int, len(methods))
	for i, m := range methods {
		methodIdx[m] = i
	}

	// Layout: header, id tables, then the data section.
	off := hsize
	stringIDsOff := off
	off += 4 * len(pool)
	typeIDsOff := off
	off += 4 * len(typeList)
	protoIDsOff := off
	off += 12 * len(protoList)
	methodIDsOff := off
	off += 8 * len(methods)
	classDefsOff := off
	off += 32 * len(classes)
	dataOff := off

	out := make([]byte, dataOff, dataOff+64+len(pool)*8)
	align4 := func() {
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	type section struct {
		typ       uint16
		count, at int
	}
	var sections []section

	// type_lists of the protos
	nLists := 0
	firstList := 0
	for _, p := range protoList {
		if len(p.params) == 0 {
			continue
		}
		align4()
		if nLists == 0 {
			firstList = len(out)
		}
		nLists++
		p.list = len(out)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(p.params)))
		for _, t := range p.params {
			out = binary.LittleEndian.AppendUint16(out, uint16(t))
		}
	}
	if nLists > 0 {
		sections = append(sections, section{0x1001, nLists, firstList})
	}

	// the code item of <clinit>
	codeOff := 0
	if withCode {
		align4()
		codeOff = len(out)
		var insns []uint16
		for _, s := range spec.Strings {
			i := strIdx[s]
			if i <= 0xffff {
				insns = append(insns, 0x001a, uint16(i)) // const-string v0
			} else {
				insns = append(insns, 0x001b, uint16(i), uint16(i>>16)) // const-string/jumbo v0
			}
		}
		maxWords := 0
		for _, m := range calls {
			words := 0
			for _, t := range strings.Split(m.proto.params, "\x00") {
				switch {
				case t == "":
				case t == "J" || t == "D":
					words += 2
				default:
					words++
				}
			}
			if words > 255 {
				return nil, fmt.Errorf("dex: build: method %s->%s takes %d argument words, at most 255", m.class, m.name, words)
			}
			maxWords = max(maxWords, words)
			insns = append(insns, uint16(words)<<8|0x77, uint16(methodIdx[resolve(m)]), 0) // invoke-static/range
		}
		insns = append(insns, 0x000e) // return-void
		regs := max(maxWords, 1)
		out = binary.LittleEndian.AppendUint16(out, uint16(regs))
		out = binary.LittleEndian.AppendUint16(out, 0) // ins
		out = binary.LittleEndian.AppendUint16(out, uint16(maxWords))
		out = binary.LittleEndian.AppendUint16(out, 0) // tries
		out = binary.LittleEndian.AppendUint32(out, 0) // debug_info_off
		out = binary.LittleEndian.AppendUint32(out, uint32(len(insns)))
		for _, u := range insns {
			out = binary.LittleEndian.AppendUint16(out, u)
		}
		sections = append(sections, section{0x2001, 1, codeOff})
	}

	// string data
	strDataOff := make([]int, len(pool))
	if len(pool) > 0 {
		sections = append(sections, section{0x2002, len(pool), len(out)})
	}
	for i, e := range pool {
		strDataOff[i] = len(out)
		out = appendULEB(out, uint32(e.units))
		out = append(out, e.b...)
		out = append(out, 0)
	}

	// class data of the first class
	classDataOff := 0
	if withCode {
		classDataOff = len(out)
		out = appendULEB(out, 0) // static fields
		out = appendULEB(out, 0) // instance fields
		out = appendULEB(out, 1) // direct methods
		out = appendULEB(out, 0) // virtual methods
		out = appendULEB(out, uint32(methodIdx[resolve(clinit)]))
		out = appendULEB(out, dex.AccStatic|dex.AccConstructor)
		out = appendULEB(out, uint32(base+codeOff))
		sections = append(sections, section{0x2000, 1, classDataOff})
	}

	// map list
	align4()
	mapOff := len(out)
	all := []section{{0x0000, 1, 0}}
	for _, s := range []section{
		{0x0001, len(pool), stringIDsOff},
		{0x0002, len(typeList), typeIDsOff},
		{0x0003, len(protoList), protoIDsOff},
		{0x0005, len(methods), methodIDsOff},
		{0x0006, len(classes), classDefsOff},
	} {
		if s.count > 0 {
			all = append(all, s)
		}
	}
	all = append(all, sections...)
	all = append(all, section{0x1000, 1, mapOff})
	out = binary.LittleEndian.AppendUint32(out, uint32(len(all)))
	for _, s := range all {
		out = binary.LittleEndian.AppendUint16(out, s.typ)
		out = binary.LittleEndian.AppendUint16(out, 0)
		out = binary.LittleEndian.AppendUint32(out, uint32(s.count))
		out = binary.LittleEndian.AppendUint32(out, uint32(base+s.at))
	}
	if uint64(base)+uint64(len(out)) > 1<<32-1 {
		return nil, fmt.Errorf("dex: build: %d bytes do not fit the 32-bit offsets of a DEX file", len(out))
	}

	// Fill in the fixed part now that every offset is known.
	le := binary.LittleEndian
	rel := func(n, at int) uint32 {
		if n == 0 {
			return 0
		}
		return uint32(base + at)
	}
	for i := range pool {
		le.PutUint32(out[stringIDsOff+4*i:], uint32(base+strDataOff[i]))
	}
	for i, t := range typeList {
		le.PutUint32(out[typeIDsOff+4*i:], uint32(strIdx[t]))
	}
	for i, p := range protoList {
		at := protoIDsOff + 12*i
		le.PutUint32(out[at:], uint32(strIdx[p.shorty]))
		le.PutUint32(out[at+4:], uint32(p.ret))
		le.PutUint32(out[at+8:], rel(p.list, p.list))
	}
	for i, m := range methods {
		at := methodIDsOff + 8*i
		le.PutUint16(out[at:], uint16(m.class))
		le.PutUint16(out[at+2:], uint16(m.proto))
		le.PutUint32(out[at+4:], uint32(m.name))
	}
	for i, c := range classes {
		at := classDefsOff + 32*i
		le.PutUint32(out[at:], uint32(typeIdx[c]))
		le.PutUint32(out[at+4:], dex.AccPublic)
		super := uint32(noIndex)
		if c != object {
			super = uint32(typeIdx[object])
		}
		le.PutUint32(out[at+8:], super)
		le.PutUint32(out[at+16:], noIndex) // source_file_idx
		if i == 0 && withCode {
			le.PutUint32(out[at+24:], uint32(base+classDataOff))
		}
	}

	h := out[:hsize]
	copy(h, fmt.Sprintf("dex\n%03d\x00", version))
	le.PutUint32(h[32:], uint32(len(out)))
	le.PutUint32(h[36:], uint32(hsize))
	le.PutUint32(h[40:], endianTag)
	le.PutUint32(h[52:], uint32(base+mapOff))
	put := func(at, n, off int) {
		le.PutUint32(h[at:], uint32(n))
		le.PutUint32(h[at+4:], rel(n, off))
	}
	put(56, len(pool), stringIDsOff)
	put(64, len(typeList), typeIDsOff)
	put(72, len(protoList), protoIDsOff)
	put(88, len(methods), methodIDsOff)
	put(96, len(classes), classDefsOff)
	put(104, len(out)-dataOff, dataOff)
	if version >= 41 {
		le.PutUint32(h[112:], uint32(base+len(out))) // container_size, patched by BuildContainer
		le.PutUint32(h[116:], uint32(base))
	}
	seal(out)
	return out, nil
}

func appendULEB(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func isClassDescriptor(s string) bool {
	return len(s) >= 3 && s[0] == 'L' && s[len(s)-1] == ';' && !strings.ContainsAny(s[1:len(s)-1], ";[")
}

func isTypeDescriptor(s string) bool {
	t, rest, ok := nextType(s)
	return ok && rest == "" && t == s
}

// nextType splits the first field type descriptor off s.
func nextType(s string) (typ, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] == '[' {
		i++
	}
	if i >= len(s) || i > 255 {
		return "", s, false
	}
	switch s[i] {
	case 'Z', 'B', 'S', 'C', 'I', 'J', 'F', 'D':
		return s[:i+1], s[i+1:], true
	case 'L':
		end := strings.IndexByte(s[i:], ';')
		if end < 2 {
			return "", s, false
		}
		return s[:i+end+1], s[i+end+1:], true
	}
	return "", s, false
}

// parseProto splits "(Ljava/lang/String;I)V" into return and parameter types.
func parseProto(p string) (ret string, params []string, err error) {
	rest, ok := strings.CutPrefix(p, "(")
	if !ok {
		return "", nil, fmt.Errorf("proto %q does not start with '('", p)
	}
	for !strings.HasPrefix(rest, ")") {
		var t string
		if t, rest, ok = nextType(rest); !ok {
			return "", nil, fmt.Errorf("proto %q: bad parameter type", p)
		}
		params = append(params, t)
	}
	rest = rest[1:]
	if rest == "V" {
		return "V", params, nil
	}
	if !isTypeDescriptor(rest) {
		return "", nil, fmt.Errorf("proto %q: bad return type", p)
	}
	return rest, params, nil
}

func shortyOf(t string) byte {
	if t[0] == 'L' || t[0] == '[' {
		return 'L'
	}
	return t[0]
}
