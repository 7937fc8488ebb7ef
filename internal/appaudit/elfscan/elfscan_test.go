package elfscan

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"path"
	"slices"
	"strings"
	"testing"
)

// testELF describes a small ELF64 little-endian shared library for tests.
type testELF struct {
	machine  elf.Machine
	needed   []string
	soname   string
	sections []string // extra PROGBITS sections by name
	trailer  string   // bytes appended after everything
	armArch  int      // >0: add .ARM.attributes with this Tag_CPU_arch (32-bit ARM only)
	class32  bool
}

// build lays out: ELF header, program headers (PT_LOAD over the file,
// PT_DYNAMIC), .dynstr, .dynamic, extra sections, .shstrtab, section
// headers, trailer.
func (t testELF) build() []byte {
	le := binary.LittleEndian
	is64 := !t.class32
	ehsize, phentsize, shentsize, dynent := 64, 56, 64, 16
	if !is64 {
		ehsize, phentsize, shentsize, dynent = 52, 32, 40, 8
	}
	const nph = 2
	off := ehsize + nph*phentsize

	dynstr := []byte{0}
	strOff := func(s string) uint64 {
		o := len(dynstr)
		dynstr = append(dynstr, s...)
		dynstr = append(dynstr, 0)
		return uint64(o)
	}
	type dent struct {
		tag elf.DynTag
		val uint64
	}
	var dents []dent
	for _, n := range t.needed {
		dents = append(dents, dent{elf.DT_NEEDED, strOff(n)})
	}
	if t.soname != "" {
		dents = append(dents, dent{elf.DT_SONAME, strOff(t.soname)})
	}
	dynstrOff := off
	off += len(dynstr)
	for off%8 != 0 {
		off++
	}
	dents = append(dents, dent{elf.DT_STRTAB, uint64(dynstrOff)}, dent{elf.DT_STRSZ, uint64(len(dynstr))}, dent{elf.DT_NULL, 0})
	dynOff := off
	var dyn []byte
	for _, d := range dents {
		if is64 {
			dyn = le.AppendUint64(dyn, uint64(d.tag))
			dyn = le.AppendUint64(dyn, d.val)
		} else {
			dyn = le.AppendUint32(dyn, uint32(d.tag))
			dyn = le.AppendUint32(dyn, uint32(d.val))
		}
	}
	off += len(dyn)

	type sec struct {
		name       string
		typ        elf.SectionType
		off, size  int
		link       uint32
		entsize    int
		nameOffset int
	}
	secs := []sec{{name: ""}, {name: ".dynstr", typ: elf.SHT_STRTAB, off: dynstrOff, size: len(dynstr)},
		{name: ".dynamic", typ: elf.SHT_DYNAMIC, off: dynOff, size: len(dyn), link: 1, entsize: dynent}}
	body := []byte{}
	bodyOff := off
	for _, s := range t.sections {
		secs = append(secs, sec{name: s, typ: elf.SHT_PROGBITS, off: bodyOff + len(body), size: 4})
		body = append(body, "data"...)
	}
	if t.armArch > 0 {
		attr := []byte("A")
		inner := []byte("aeabi\x00")
		file := []byte{5}
		file = append(file, "7-A\x00"...)
		file = append(file, 6, byte(t.armArch))
		blk := append([]byte{1}, le.AppendUint32(nil, uint32(5+len(file)))...)
		blk = append(blk, file...)
		inner = append(inner, blk...)
		attr = le.AppendUint32(attr, uint32(4+len(inner)))
		attr = append(attr, inner...)
		secs = append(secs, sec{name: ".ARM.attributes", typ: shtARMAttributes, off: bodyOff + len(body), size: len(attr)})
		body = append(body, attr...)
	}
	off += len(body)
	shstr := []byte{0}
	for i := range secs {
		if secs[i].name != "" {
			secs[i].nameOffset = len(shstr)
			shstr = append(shstr, secs[i].name...)
			shstr = append(shstr, 0)
		}
	}
	shstrIdx := len(secs)
	secs = append(secs, sec{name: ".shstrtab", typ: elf.SHT_STRTAB, off: off, size: 0})
	secs[shstrIdx].nameOffset = len(shstr)
	shstr = append(shstr, ".shstrtab\x00"...)
	secs[shstrIdx].size = len(shstr)
	off += len(shstr)
	for off%8 != 0 {
		off++
	}
	shoff := off
	fileEnd := shoff + len(secs)*shentsize

	out := make([]byte, 0, fileEnd+len(t.trailer))
	// ELF header
	out = append(out, 0x7f, 'E', 'L', 'F')
	if is64 {
		out = append(out, byte(elf.ELFCLASS64))
	} else {
		out = append(out, byte(elf.ELFCLASS32))
	}
	out = append(out, byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT), 0)
	out = append(out, make([]byte, 8)...)
	out = le.AppendUint16(out, uint16(elf.ET_DYN))
	out = le.AppendUint16(out, uint16(t.machine))
	out = le.AppendUint32(out, uint32(elf.EV_CURRENT))
	word := func(v uint64) {
		if is64 {
			out = le.AppendUint64(out, v)
		} else {
			out = le.AppendUint32(out, uint32(v))
		}
	}
	word(0)                       // entry
	word(uint64(ehsize))          // phoff
	word(uint64(shoff))           // shoff
	out = le.AppendUint32(out, 0) // flags
	out = le.AppendUint16(out, uint16(ehsize))
	out = le.AppendUint16(out, uint16(phentsize))
	out = le.AppendUint16(out, nph)
	out = le.AppendUint16(out, uint16(shentsize))
	out = le.AppendUint16(out, uint16(len(secs)))
	out = le.AppendUint16(out, uint16(shstrIdx))
	// program headers
	prog := func(typ elf.ProgType, o, size int) {
		if is64 {
			out = le.AppendUint32(out, uint32(typ))
			out = le.AppendUint32(out, uint32(elf.PF_R))
			out = le.AppendUint64(out, uint64(o))
			out = le.AppendUint64(out, uint64(o)) // vaddr = offset
			out = le.AppendUint64(out, uint64(o))
			out = le.AppendUint64(out, uint64(size))
			out = le.AppendUint64(out, uint64(size))
			out = le.AppendUint64(out, 8)
		} else {
			out = le.AppendUint32(out, uint32(typ))
			out = le.AppendUint32(out, uint32(o))
			out = le.AppendUint32(out, uint32(o))
			out = le.AppendUint32(out, uint32(o))
			out = le.AppendUint32(out, uint32(size))
			out = le.AppendUint32(out, uint32(size))
			out = le.AppendUint32(out, uint32(elf.PF_R))
			out = le.AppendUint32(out, 8)
		}
	}
	prog(elf.PT_LOAD, 0, fileEnd)
	prog(elf.PT_DYNAMIC, dynOff, len(dyn))
	pad := func(to int) {
		for len(out) < to {
			out = append(out, 0)
		}
	}
	pad(dynstrOff)
	out = append(out, dynstr...)
	pad(dynOff)
	out = append(out, dyn...)
	out = append(out, body...)
	out = append(out, shstr...)
	pad(shoff)
	for _, s := range secs {
		if is64 {
			out = le.AppendUint32(out, uint32(s.nameOffset))
			out = le.AppendUint32(out, uint32(s.typ))
			out = le.AppendUint64(out, 0)
			out = le.AppendUint64(out, uint64(s.off))
			out = le.AppendUint64(out, uint64(s.off))
			out = le.AppendUint64(out, uint64(s.size))
			out = le.AppendUint32(out, s.link)
			out = le.AppendUint32(out, 0)
			out = le.AppendUint64(out, 1)
			out = le.AppendUint64(out, uint64(s.entsize))
		} else {
			out = le.AppendUint32(out, uint32(s.nameOffset))
			out = le.AppendUint32(out, uint32(s.typ))
			out = le.AppendUint32(out, 0)
			out = le.AppendUint32(out, uint32(s.off))
			out = le.AppendUint32(out, uint32(s.off))
			out = le.AppendUint32(out, uint32(s.size))
			out = le.AppendUint32(out, s.link)
			out = le.AppendUint32(out, 0)
			out = le.AppendUint32(out, 1)
			out = le.AppendUint32(out, uint32(s.entsize))
		}
	}
	return append(out, t.trailer...)
}

const shtARMAttributes = elf.SectionType(0x70000003)

func scanBytes(t *testing.T, name string, b []byte) *Info {
	t.Helper()
	info, err := Scan(name, bytes.NewReader(b), int64(len(b)), DefaultLimits())
	if err != nil {
		t.Fatalf("Scan(%s): %v", name, err)
	}
	return info
}

func markSet(ms []Mark) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Protector+"/"+string(m.Kind)+"/"+m.Evidence)
	}
	slices.Sort(out)
	return out
}

func TestScanSynthetic(t *testing.T) {
	tests := []struct {
		name     string
		entry    string
		elf      testELF
		abi      string
		marks    []string
		sections int
	}{
		{
			name:  "plain arm64",
			entry: "lib/arm64-v8a/libplain.so",
			elf:   testELF{machine: elf.EM_AARCH64, needed: []string{"liblog.so", "libc.so"}, soname: "libplain.so"},
			abi:   "arm64-v8a",
		},
		{
			name:  "Tencent shell needed",
			entry: "lib/arm64-v8a/libapp.so",
			elf:   testELF{machine: elf.EM_AARCH64, needed: []string{"libc.so", "libshell.so"}},
			abi:   "arm64-v8a",
			marks: []string{"Mobile Tencent Protect/needed/libshell.so"},
		},
		{
			name:  "Jiagu by name",
			entry: "assets/libjiagu_a64.so",
			elf:   testELF{machine: elf.EM_AARCH64},
			abi:   "arm64-v8a",
			marks: []string{"Jiagu/file-name/assets/libjiagu_a64.so"},
		},
		{
			name:  "Promon sections",
			entry: "lib/x86_64/libshield.so",
			elf:   testELF{machine: elf.EM_X86_64, sections: []string{".text", ".ncc", ".ncd"}},
			abi:   "x86_64",
			marks: []string{"Promon Shield/file-name/lib/x86_64/libshield.so", "Promon Shield/section/.ncc", "Promon Shield/section/.ncd"},
		},
		{
			name:  "Bangcle UPX trailer",
			entry: "lib/armeabi-v7a/libx.so",
			elf:   testELF{machine: elf.EM_ARM, class32: true, trailer: "\x00\x00SEC!\x00\x00\x00\x00", armArch: 10},
			abi:   "armeabi-v7a",
			marks: []string{"Bangcle / SecNeo (UPX)/trailer/SEC!"},
		},
		{
			name:  "armeabi v5TE",
			entry: "lib/armeabi/libold.so",
			elf:   testELF{machine: elf.EM_ARM, class32: true, armArch: 4},
			abi:   "armeabi",
		},
		{
			name:  "arm without attributes",
			entry: "lib/armeabi/libnoattr.so",
			elf:   testELF{machine: elf.EM_ARM, class32: true},
			abi:   "arm",
		},
		{
			name:  "x86 32-bit",
			entry: "lib/x86/liba.so",
			elf:   testELF{machine: elf.EM_386, class32: true, needed: []string{"libDexHelper-x86.so"}},
			abi:   "x86",
			marks: []string{"SecNeo/needed/libDexHelper-x86.so"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info := scanBytes(t, tc.entry, tc.elf.build())
			if info.ABI != tc.abi {
				t.Errorf("ABI %q, want %q", info.ABI, tc.abi)
			}
			if dir := PathABI(tc.entry); dir != "" && !info.MatchesDir(dir) {
				t.Errorf("ABI %q does not match directory %q", info.ABI, dir)
			}
			if !slices.Equal(info.Needed, tc.elf.needed) {
				t.Errorf("needed %q, want %q", info.Needed, tc.elf.needed)
			}
			if info.SOName != tc.elf.soname {
				t.Errorf("soname %q, want %q", info.SOName, tc.elf.soname)
			}
			for _, s := range tc.elf.sections {
				if !slices.Contains(info.Sections, s) {
					t.Errorf("section %s missing from %q", s, info.Sections)
				}
			}
			if info.SectionError != "" || len(info.Problems) != 0 {
				t.Errorf("section error %q, problems %q", info.SectionError, info.Problems)
			}
			want := slices.Clone(tc.marks)
			slices.Sort(want)
			if got := markSet(info.Marks); !slices.Equal(got, want) {
				t.Errorf("marks %q, want %q", got, want)
			}
		})
	}
}

// A library whose section headers point outside the file is read from its
// program headers: needed libraries and soname survive.
func TestScanBrokenSectionHeaders(t *testing.T) {
	b := testELF{machine: elf.EM_AARCH64, needed: []string{"libc.so", "libjiagu.so"}, soname: "libstub.so", sections: []string{".ncc"}}.build()
	binary.LittleEndian.PutUint64(b[0x28:], uint64(len(b)*4)) // e_shoff past the end
	info := scanBytes(t, "lib/arm64-v8a/libstub.so", b)
	if info.SectionError == "" {
		t.Error("no section error for a bad e_shoff")
	}
	if len(info.Sections) != 0 {
		t.Errorf("sections %q from broken headers", info.Sections)
	}
	if !slices.Equal(info.Needed, []string{"libc.so", "libjiagu.so"}) || info.SOName != "libstub.so" {
		t.Errorf("needed %q, soname %q", info.Needed, info.SOName)
	}
	if info.ABI != "arm64-v8a" {
		t.Errorf("ABI %q", info.ABI)
	}
	if got := markSet(info.Marks); !slices.Equal(got, []string{"Jiagu/needed/libjiagu.so"}) {
		t.Errorf("marks %q", got)
	}
}

func TestScanErrors(t *testing.T) {
	good := testELF{machine: elf.EM_AARCH64, needed: []string{"libc.so"}}.build()
	tests := []struct {
		name    string
		data    []byte
		lim     Limits
		notELF  bool
		wantErr bool
	}{
		{"empty", nil, Limits{}, true, true},
		{"short", []byte("\x7fEL"), Limits{}, true, true},
		{"not elf", []byte("PK\x03\x04 this is a zip file, not a library"), Limits{}, true, true},
		{"too big", good, Limits{MaxFileSize: 100}, false, true},
		{"bad class", func() []byte { b := slices.Clone(good); b[elf.EI_CLASS] = 9; return b }(), Limits{}, false, true},
		{"truncated", good[:200], Limits{}, false, false},
		{"dynamic over limit", good, Limits{MaxTableSize: 8}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Scan("lib/arm64-v8a/libjiagu.so", bytes.NewReader(tc.data), int64(len(tc.data)), tc.lim)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if errors.Is(err, ErrNotELF) != tc.notELF {
				t.Errorf("errors.Is(ErrNotELF) = %v for %v", !tc.notELF, err)
			}
			if err == nil && len(info.Problems) == 0 && info.SectionError == "" {
				t.Errorf("no problem recorded: %+v", info)
			}
			marks, merr := Marks("lib/arm64-v8a/libjiagu.so", bytes.NewReader(tc.data), int64(len(tc.data)))
			if len(marks) == 0 || marks[0].Protector != "Jiagu" {
				t.Errorf("Marks lost the name mark: %v, %v", marks, merr)
			}
		})
	}
}

func TestNameMarks(t *testing.T) {
	tests := []struct {
		entry string
		want  string // protector, "" for none
	}{
		{"lib/arm64-v8a/libjiagu_a64.so", "Jiagu"},
		{"assets/libjiagu.so", "Jiagu"},
		{"assets/libjiagu_x86.so", "Jiagu"},
		{"lib/armeabi/libprotectClass.so", "Jiagu (legacy)"},
		{"lib/armeabi-v7a/libsecexe.so", "Bangcle"},
		{"lib/x86/libsecmain.x86.so", "Bangcle"},
		{"lib/armeabi/libSecShell.so", "Bangcle SecShell"},
		{"assets/bangcleplugin/container.dex", "Bangcle"},
		{"lib/arm64-v8a/libDexHelper.so", "SecNeo"},
		{"lib/x86/libDexHelper-x86.so", "SecNeo"},
		{"lib/armeabi/libexecmain.so", "Ijiami"},
		{"assets/ijiami.dat", "Ijiami"},
		{"assets/ijm_lib/armeabi/libexec.so", "Ijiami"},
		{"lib/armeabi-v7a/libshella-2.10.1.so", "Legu"},
		{"lib/arm64-v8a/libshellx-super.2019.so", "Legu"},
		{"assets/0OO00l111l1l", "Legu"},
		{"lib/arm64-v8a/libtosprotection.arm64-v8a.so", "Yu Anquan"},
		{"lib/armeabi/libbaiduprotect.so", "Baidu App Protect"},
		{"lib/armeabi/libmobisec.so", "Alibaba Mobile Security"},
		{"lib/armeabi/libmobisecy.so", "Mobile Tencent Protect"},
		{"lib/arm64-v8a/libsgmainso-6.4.36.so", "Alibaba Security Guard (SDK)"},
		{"lib/arm64-v8a/libnesec.so", "Yidun"},
		{"lib/armeabi/libddog.so", "Naga"},
		{"lib/arm64-v8a/libdexprotector.so", "DexProtector"},
		{"assets/dp.arm-v7.so.dat", "DexProtector"},
		{"lib/armeabi/libAPKProtect.so", "APKProtect"},
		// Negative controls: SDK libraries of the corpus and look-alikes.
		{"lib/arm64-v8a/libweibosdkcore.so", ""},
		{"lib/arm64-v8a/libmylib.so", ""},
		{"lib/arm64-v8a/libjiaguo.txt", ""},
		{"lib/arm64-v8a/libsecurity.so", ""},
		{"assets/ijiami.dat.txt", ""},
		{"lib/arm64-v8a/libshellcheck.so", ""},
		{"classes.dex", ""},
	}
	for _, tc := range tests {
		t.Run(tc.entry, func(t *testing.T) {
			ms := NameMarks(tc.entry)
			switch {
			case tc.want == "" && len(ms) != 0:
				t.Errorf("marks %v, want none", ms)
			case tc.want != "" && (len(ms) == 0 || ms[0].Protector != tc.want):
				t.Errorf("marks %v, want %s", ms, tc.want)
			}
			for _, m := range ms {
				if m.Evidence != tc.entry || m.Source == "" || m.Vendor == "" || (m.Confidence != High && m.Confidence != Medium) {
					t.Errorf("incomplete mark %+v", m)
				}
			}
		})
	}
}

func TestRulesTable(t *testing.T) {
	seen := make(map[string]bool)
	for _, r := range Rules() {
		key := r.Protector + "|" + string(r.Kind) + "|" + r.Pattern
		if seen[key] {
			t.Errorf("duplicate row %s", key)
		}
		seen[key] = true
		if r.Source == "" || r.Vendor == "" || r.Protector == "" {
			t.Errorf("row without source, vendor or protector: %+v", r)
		}
		if r.Kind != KindTrailer && r.Pattern != strings.ToLower(r.Pattern) && r.Kind != KindSection {
			t.Errorf("pattern %q must be lower case (matching is case-insensitive)", r.Pattern)
		}
		if r.Kind == KindFileName || r.Kind == KindPath {
			if _, err := path.Match(r.Pattern, "x"); err != nil {
				t.Errorf("bad glob %q: %v", r.Pattern, err)
			}
		}
	}
	// Rules returns a copy.
	rs := Rules()
	rs[0].Protector = "changed"
	if Rules()[0].Protector == "changed" {
		t.Error("Rules exposes the table itself")
	}
}

func TestPathABI(t *testing.T) {
	for in, want := range map[string]string{
		"lib/arm64-v8a/libx.so":   "arm64-v8a",
		"lib/x86/libx.so":         "x86",
		"assets/libx.so":          "",
		"lib/libx.so":             "",
		"lib/arm64-v8a/sub/lx.so": "",
		"lib//libx.so":            "",
	} {
		if got := PathABI(in); got != want {
			t.Errorf("PathABI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestArmCPUArchMalformed(t *testing.T) {
	for _, b := range [][]byte{
		nil, []byte("B"), []byte("A\x03\x00\x00\x00"), []byte("A\xff\x00\x00\x00aeabi\x00"),
		[]byte("A\x10\x00\x00\x00aeabi\x00\x01\x02\x00\x00\x00"),
		[]byte("A\x0f\x00\x00\x00aeabi\x00\x01\x06\x00\x00\x00\x05"),
	} {
		if _, ok := armCPUArch(b); ok {
			t.Errorf("armCPUArch(%q) accepted", b)
		}
	}
}

func TestMatchesDir(t *testing.T) {
	tests := []struct {
		abi, dir string
		want     bool
	}{
		{"arm64-v8a", "arm64-v8a", true},
		{"x86", "arm64-v8a", false},
		{"x86_64", "x86", false},
		{"armeabi", "armeabi-v7a", true},
		{"armeabi-v7a", "armeabi", true},
		{"arm", "armeabi", true},
		{"arm", "arm64-v8a", false},
		{"arm", "arm", false},
		{"", "", false},
		{"mips", "mips64", false},
	}
	for _, tc := range tests {
		if got := (&Info{ABI: tc.abi}).MatchesDir(tc.dir); got != tc.want {
			t.Errorf("ABI %q in %q: %v, want %v", tc.abi, tc.dir, got, tc.want)
		}
	}
}
