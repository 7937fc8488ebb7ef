package dex_test

import (
	"path/filepath"
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/dex"
	"github.com/outflow-dev/outflow/internal/appaudit/dex/dextest"
)

// largestSampleDex returns the biggest DEX file of the shared corpus.
func largestSampleDex(b *testing.B) []byte {
	dir := corpusOrSkip(b)
	apks, _ := filepath.Glob(filepath.Join(dir, "samples", "*.apk"))
	var best []byte
	for _, a := range apks {
		for _, d := range readDexEntries(b, a) {
			if len(d.data) > len(best) {
				best = d.data
			}
		}
	}
	if best == nil {
		b.Skip("no DEX file in the corpus")
	}
	return best
}

// BenchmarkParseAndIterate is the auditor's pass over one DEX file: parse,
// then every class, string and method reference, then the code scan.
func BenchmarkParseAndIterate(b *testing.B) {
	data := largestSampleDex(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := dex.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, d := range f.Classes() {
			n += len(d)
		}
		for _, s := range f.Strings() {
			n += len(s)
		}
		for _, m := range f.Methods() {
			n += len(m.Name)
		}
		r := f.ScanCode()
		if n == 0 || r.Methods == 0 {
			b.Fatal("nothing read")
		}
	}
}

func BenchmarkParse(b *testing.B) {
	data := largestSampleDex(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dex.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMeasureConstStrings(b *testing.B) {
	f, err := dex.Parse(largestSampleDex(b))
	if err != nil {
		b.Fatal(err)
	}
	f.ScanCode()
	b.ReportAllocs()
	for b.Loop() {
		dex.MeasureStrings(f.ConstStrings())
	}
}

func BenchmarkPrefixCounter(b *testing.B) {
	f, err := dex.Parse(largestSampleDex(b))
	if err != nil {
		b.Fatal(err)
	}
	pc := NewPrefixCounter([]string{"Lcom/tencent/", "Lcom/tencent/bugly/", "Lcom/alibaba/", "Lcom/baidu/", "Lcom/umeng/", "Lcn/jpush/", "Lcom/sina/weibo/sdk/", "Lcom/stub/StubApp", "Landroid/support/"})
	b.ReportAllocs()
	for b.Loop() {
		pc.AddFile(f)
	}
}

// BenchmarkBuild measures the synthetic-app generator on a mid-sized file.
func BenchmarkBuild(b *testing.B) {
	s := dextest.Spec{}
	for i := range 5000 {
		s.Classes = append(s.Classes, "Lcom/synthetic/p"+itoa(i%37)+"/C"+itoa(i)+";")
	}
	for i := range 50000 {
		s.Strings = append(s.Strings, "https://h"+itoa(i%100)+".example.cn/api?q="+itoa(i*7919))
	}
	for i := range 2000 {
		s.Methods = append(s.Methods, dextest.MethodSpec{Class: "Lcom/ext/E" + itoa(i%50) + ";", Name: "m" + itoa(i), Proto: "(Ljava/lang/String;I)V"})
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := dextest.Build(s)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
}

func BenchmarkFindString(b *testing.B) {
	f, err := dex.Parse(largestSampleDex(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if f.HasMethod("Ljava/lang/Runtime;", "no-such-method") {
			b.Fatal("found")
		}
	}
}
