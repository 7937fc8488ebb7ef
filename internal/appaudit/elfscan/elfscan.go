// Package elfscan inspects the native libraries (lib/<abi>/*.so) of an
// Android app: architecture, section names, dynamic symbols, needed
// libraries, and the marks that packers and protectors (Qihoo 360 Jiagu,
// Bangcle/SecNeo, Ijiami, Tencent Legu, Baidu, Alibaba, NetEase Yidun,
// DexProtector...) leave in file names, sections and trailers.
//
// It reads through Go's debug/elf on an io.ReaderAt and never loads a whole
// library: only headers and the tables it needs, each under a size limit.
// Libraries with deliberately corrupted section headers, which packers
// produce to stop disassemblers, are read again from the program headers
// alone, as the dynamic loader does. Malformed input yields errors or
// recorded problems, never a panic; nothing is recovered, it is validated.
//
// Marks are evidence, not verdicts. The table (marks.go) holds names from
// public sources, cited per row; this package must not import other
// outflow packages nor anything outside the standard library.
package elfscan

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bound the work on one library.
type Limits struct {
	// MaxFileSize refuses larger files.
	MaxFileSize int64
	// MaxTableSize is the largest table read into memory: the dynamic
	// segment, its string table, .dynsym and its string table,
	// .ARM.attributes.
	MaxTableSize int64
}

// DefaultLimits suit real apps: the largest Android libraries (game
// engines, browsers) are a few hundred MB with dynamic tables of a few MB.
func DefaultLimits() Limits {
	return Limits{MaxFileSize: 4 << 30, MaxTableSize: 16 << 20}
}

// ErrNotELF is returned for input without the ELF magic number.
var ErrNotELF = errors.New("not an ELF file")

// Info describes one native library.
type Info struct {
	Name    string // as given to Scan, usually the APK entry path
	Class   elf.Class
	Machine elf.Machine
	Type    elf.Type
	// ABI is the Android ABI the code is built for: arm64-v8a, armeabi-v7a,
	// armeabi, x86, x86_64, mips, mips64, riscv64; "arm" for 32-bit ARM
	// whose architecture version is not recorded; "" for other machines.
	ABI string

	Sections []string // section names in header order
	// SectionError says why the section headers could not be read; they
	// were then ignored. Packers corrupt them on purpose.
	SectionError string

	DynamicSymbols int  // entries of .dynsym, without the null symbol
	JNIExports     int  // defined dynamic symbols named Java_*: native methods bound by name
	JNIOnLoad      bool // JNI_OnLoad is defined: native methods may be registered at load time

	Needed []string // DT_NEEDED, in order
	SOName string   // DT_SONAME

	Marks []Mark
	// Problems lists what could not be read (a table over the size limit, a
	// truncated segment); the rest of Info is still valid.
	Problems []string
}

// PathABI returns the ABI directory of an APK entry "lib/<abi>/name.so",
// or "" for any other path.
func PathABI(entry string) string {
	parts := strings.Split(entry, "/")
	if len(parts) == 3 && parts[0] == "lib" && parts[1] != "" && parts[2] != "" {
		return parts[1]
	}
	return ""
}

// Scan reads one library. It returns an error only when the input is not
// ELF, is over the size limit, or its ELF header cannot be read; other
// faults are recorded in Info.SectionError and Info.Problems.
func Scan(name string, r io.ReaderAt, size int64, lim Limits) (*Info, error) {
	def := DefaultLimits()
	if lim.MaxFileSize <= 0 {
		lim.MaxFileSize = def.MaxFileSize
	}
	if lim.MaxTableSize <= 0 {
		lim.MaxTableSize = def.MaxTableSize
	}
	if size < 0 || size > lim.MaxFileSize {
		return nil, fmt.Errorf("elfscan: %s: size %d outside the limit of %d bytes", name, size, lim.MaxFileSize)
	}
	sr := io.NewSectionReader(r, 0, size)
	var ident [elf.EI_NIDENT]byte
	if _, err := sr.ReadAt(ident[:], 0); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("elfscan: %s: %d bytes is too short for an ELF header: %w", name, size, ErrNotELF)
		}
		return nil, fmt.Errorf("elfscan: %s: %w", name, err)
	}
	if string(ident[:4]) != elf.ELFMAG {
		return nil, fmt.Errorf("elfscan: %s: %w", name, ErrNotELF)
	}

	info := &Info{Name: name}
	info.Marks = NameMarks(name)

	tail := make([]byte, min(size, 64))
	if _, err := sr.ReadAt(tail, size-int64(len(tail))); err == nil {
		info.Marks = trailerMarks(info.Marks, tail)
	}

	f, err := elf.NewFile(sr)
	if err != nil {
		info.SectionError = "section headers: " + err.Error()
		f, err = elf.NewFile(&noSections{r: sr, class: elf.Class(ident[elf.EI_CLASS])})
		if err != nil {
			return nil, fmt.Errorf("elfscan: %s: %w", name, err)
		}
	}
	info.Class, info.Machine, info.Type = f.Class, f.Machine, f.Type

	for _, s := range f.Sections {
		info.Sections = append(info.Sections, s.Name)
	}
	info.Marks = sectionMarks(info.Marks, info.Sections)

	info.readDynamic(f, sr, size, lim)
	info.Marks = neededMarks(info.Marks, info.Needed)
	info.readSymbols(f, size, lim)
	info.ABI = abi(f, lim, info)
	return info, nil
}

func (i *Info) problem(format string, args ...any) {
	i.Problems = append(i.Problems, fmt.Sprintf(format, args...))
}

// readDynamic reads DT_NEEDED and DT_SONAME from the PT_DYNAMIC segment, the
// loader's view, and falls back to the .dynamic section when there is no
// such segment.
func (i *Info) readDynamic(f *elf.File, r io.ReaderAt, size int64, lim Limits) {
	var dyn *elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_DYNAMIC {
			dyn = p
			break
		}
	}
	if dyn == nil {
		if s := f.SectionByType(elf.SHT_DYNAMIC); s != nil && !i.sectionFits(f, s, lim) {
			return
		}
		var err error
		if i.Needed, err = f.ImportedLibraries(); err != nil {
			i.problem("dynamic section: %v", err)
		}
		if so, err := f.DynString(elf.DT_SONAME); err == nil && len(so) > 0 {
			i.SOName = so[0]
		}
		return
	}
	if dyn.Filesz > uint64(lim.MaxTableSize) {
		i.problem("dynamic segment of %d bytes over the %d-byte limit", dyn.Filesz, lim.MaxTableSize)
		return
	}
	data := make([]byte, dyn.Filesz)
	if _, err := r.ReadAt(data, int64(dyn.Off)); err != nil {
		i.problem("dynamic segment at %#x: %v", dyn.Off, err)
		return
	}
	entSize := 8
	if f.Class == elf.ELFCLASS64 {
		entSize = 16
	}
	var needed []uint64
	var soname, strtab, strsz uint64
	haveSO, haveTab := false, false
	for off := 0; off+entSize <= len(data); off += entSize {
		var tag elf.DynTag
		var val uint64
		if entSize == 8 {
			tag, val = elf.DynTag(f.ByteOrder.Uint32(data[off:])), uint64(f.ByteOrder.Uint32(data[off+4:]))
		} else {
			tag, val = elf.DynTag(f.ByteOrder.Uint64(data[off:])), f.ByteOrder.Uint64(data[off+8:])
		}
		switch tag {
		case elf.DT_NULL:
			off = len(data)
		case elf.DT_NEEDED:
			needed = append(needed, val)
		case elf.DT_SONAME:
			soname, haveSO = val, true
		case elf.DT_STRTAB:
			strtab, haveTab = val, true
		case elf.DT_STRSZ:
			strsz = val
		}
	}
	if len(needed) == 0 && !haveSO {
		return
	}
	if !haveTab {
		i.problem("dynamic segment has names but no DT_STRTAB")
		return
	}
	off, ok := vaddrToOffset(f, strtab)
	if !ok || off >= uint64(size) {
		i.problem("DT_STRTAB %#x is in no loaded segment", strtab)
		return
	}
	n := uint64(size) - off
	if strsz != 0 && strsz < n {
		n = strsz
	}
	if n > uint64(lim.MaxTableSize) {
		n = uint64(lim.MaxTableSize)
	}
	str := make([]byte, n)
	if _, err := r.ReadAt(str, int64(off)); err != nil && !errors.Is(err, io.EOF) {
		i.problem("dynamic string table at %#x: %v", off, err)
		return
	}
	for _, v := range needed {
		if s, ok := cString(str, v); ok {
			i.Needed = append(i.Needed, s)
		} else {
			i.problem("DT_NEEDED name at %#x outside the string table", v)
		}
	}
	if haveSO {
		if s, ok := cString(str, soname); ok {
			i.SOName = s
		}
	}
}

// vaddrToOffset maps a virtual address to a file offset through the
// PT_LOAD segments.
func vaddrToOffset(f *elf.File, addr uint64) (uint64, bool) {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr-p.Vaddr < p.Filesz {
			return addr - p.Vaddr + p.Off, true
		}
	}
	return 0, false
}

func cString(tab []byte, off uint64) (string, bool) {
	if off >= uint64(len(tab)) {
		return "", false
	}
	end := bytes.IndexByte(tab[off:], 0)
	if end < 0 {
		return "", false
	}
	return string(tab[off : off+uint64(end)]), true
}

// sectionFits checks a section and its linked string table against the
// table limit before debug/elf reads them whole.
func (i *Info) sectionFits(f *elf.File, s *elf.Section, lim Limits) bool {
	if s.Type != elf.SHT_NOBITS && s.Size > uint64(lim.MaxTableSize) {
		i.problem("section %s of %d bytes over the %d-byte limit", s.Name, s.Size, lim.MaxTableSize)
		return false
	}
	if s.Link != 0 && int(s.Link) < len(f.Sections) {
		if l := f.Sections[s.Link]; l.Type != elf.SHT_NOBITS && l.Size > uint64(lim.MaxTableSize) {
			i.problem("section %s of %d bytes over the %d-byte limit", l.Name, l.Size, lim.MaxTableSize)
			return false
		}
	}
	return true
}

func (i *Info) readSymbols(f *elf.File, size int64, lim Limits) {
	ds := f.SectionByType(elf.SHT_DYNSYM)
	if ds == nil || !i.sectionFits(f, ds, lim) {
		return
	}
	// DynamicSymbols also reads the symbol version sections.
	for _, s := range f.Sections {
		switch s.Type {
		case elf.SHT_GNU_VERSYM, elf.SHT_GNU_VERDEF, elf.SHT_GNU_VERNEED:
			if !i.sectionFits(f, s, lim) {
				return
			}
		}
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		i.problem("dynamic symbols: %v", err)
		return
	}
	i.DynamicSymbols = len(syms)
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF {
			continue
		}
		if strings.HasPrefix(s.Name, "Java_") {
			i.JNIExports++
		}
		if s.Name == "JNI_OnLoad" {
			i.JNIOnLoad = true
		}
	}
}

// abi names the Android ABI of the machine; for 32-bit ARM it reads
// Tag_CPU_arch from .ARM.attributes to tell armeabi-v7a from armeabi.
func abi(f *elf.File, lim Limits, info *Info) string {
	switch f.Machine {
	case elf.EM_AARCH64:
		return "arm64-v8a"
	case elf.EM_X86_64:
		return "x86_64"
	case elf.EM_386:
		return "x86"
	case elf.EM_MIPS:
		if f.Class == elf.ELFCLASS64 {
			return "mips64"
		}
		return "mips"
	case elf.EM_RISCV:
		if f.Class == elf.ELFCLASS64 {
			return "riscv64"
		}
	case elf.EM_ARM:
		s := f.Section(".ARM.attributes")
		if s == nil || s.Type == elf.SHT_NOBITS || s.Size > 1<<16 || !info.sectionFits(f, s, lim) {
			return "arm"
		}
		data, err := s.Data()
		if err != nil {
			return "arm"
		}
		arch, ok := armCPUArch(data)
		switch {
		case !ok:
			return "arm"
		case arch >= 10: // v7 and later
			return "armeabi-v7a"
		}
		return "armeabi"
	}
	return ""
}

// armCPUArch finds Tag_CPU_arch (6) in the "aeabi" subsection of an ARM
// build attributes section (ARM IHI 0045, "Addenda to the ARM ABI"):
// 'A', then subsections of uint32 length, vendor name, and a Tag_File (1)
// block of tag/value pairs. Compilers write tags in increasing order, so
// only the string-valued Tag_CPU_raw_name (4) and Tag_CPU_name (5) can come
// before it.
func armCPUArch(b []byte) (uint64, bool) {
	if len(b) < 1 || b[0] != 'A' {
		return 0, false
	}
	b = b[1:]
	for len(b) >= 4 {
		n := binary.LittleEndian.Uint32(b)
		if n < 4 || uint64(n) > uint64(len(b)) {
			return 0, false
		}
		sub := b[4:n]
		b = b[n:]
		vendor, rest, ok := bytes.Cut(sub, []byte{0})
		if !ok || string(vendor) != "aeabi" {
			continue
		}
		for len(rest) >= 5 {
			tag := rest[0]
			size := binary.LittleEndian.Uint32(rest[1:])
			if size < 5 || uint64(size) > uint64(len(rest)) {
				return 0, false
			}
			block := rest[5:size]
			rest = rest[size:]
			if tag != 1 { // only file-scope attributes
				continue
			}
			for len(block) > 0 {
				t, k := uleb(block)
				if k == 0 {
					return 0, false
				}
				block = block[k:]
				switch t {
				case 4, 5:
					end := bytes.IndexByte(block, 0)
					if end < 0 {
						return 0, false
					}
					block = block[end+1:]
				case 6:
					v, k := uleb(block)
					return v, k > 0
				default:
					return 0, false
				}
			}
		}
	}
	return 0, false
}

func uleb(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

// noSections presents an ELF file with e_shoff, e_shnum and e_shstrndx
// read as zero, so that debug/elf parses the header and program headers of
// a file whose section headers are broken.
type noSections struct {
	r     io.ReaderAt
	class elf.Class
}

func (n *noSections) ReadAt(p []byte, off int64) (int, error) {
	k, err := n.r.ReadAt(p, off)
	var fields [][2]int64 // [start, end) of the header fields to clear
	if n.class == elf.ELFCLASS64 {
		fields = [][2]int64{{0x28, 0x30}, {0x3c, 0x40}}
	} else {
		fields = [][2]int64{{0x20, 0x24}, {0x30, 0x34}}
	}
	for _, fld := range fields {
		for a := max(fld[0], off); a < fld[1] && a < off+int64(k); a++ {
			p[a-off] = 0
		}
	}
	return k, err
}
