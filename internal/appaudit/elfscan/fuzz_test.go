package elfscan

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"testing"

	"github.com/outflow-dev/outflow/internal/sharedtest"
)

func FuzzScan(f *testing.F) {
	seeds := [][]byte{
		testELF{machine: elf.EM_AARCH64, needed: []string{"libc.so", "libshell.so"}, soname: "liba.so", sections: []string{".ncc"}}.build(),
		testELF{machine: elf.EM_ARM, class32: true, armArch: 10, trailer: "UPX!"}.build(),
		testELF{machine: elf.EM_386, class32: true, needed: []string{"libjiagu.so"}}.build(),
	}
	broken := testELF{machine: elf.EM_AARCH64, needed: []string{"libc.so"}}.build()
	binary.LittleEndian.PutUint64(broken[0x28:], 1<<40)
	seeds = append(seeds, broken)
	if _, ok := sharedtest.Optional(f, "apk", "samples"); ok {
		for _, l := range corpusLibs(f) {
			seeds = append(seeds, l.data)
		}
	}
	for _, s := range seeds {
		f.Add(s)
	}
	lim := Limits{MaxFileSize: 1 << 24, MaxTableSize: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Scan("lib/arm64-v8a/libx.so", bytes.NewReader(data), int64(len(data)), lim)
		if err == nil && info == nil {
			t.Fatal("nil Info without error")
		}
		armCPUArch(data)
	})
}

// largestCorpusLib returns the biggest library of the shared corpus.
func largestCorpusLib(b *testing.B) sampleLib {
	var best sampleLib
	for _, l := range corpusLibs(b) {
		if len(l.data) > len(best.data) {
			best = l
		}
	}
	return best
}

func BenchmarkScan(b *testing.B) {
	l := largestCorpusLib(b)
	r := bytes.NewReader(l.data)
	b.SetBytes(int64(len(l.data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Scan(l.name, r, int64(len(l.data)), DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNameMarks(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NameMarks("lib/arm64-v8a/libweibosdkcore.so")
	}
}
