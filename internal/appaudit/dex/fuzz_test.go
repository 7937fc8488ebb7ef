package dex_test

import (
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/dex"
	"github.com/outflow-dev/outflow/internal/appaudit/dex/dextest"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

// corpusSeeds returns DEX files from the shared corpus for fuzz seeds: the
// smallest whole, and the first 8 KiB of the others (the mutator works
// best on small inputs, and the header and id tables come first).
func corpusSeeds(t testing.TB) [][]byte {
	if _, ok := sharedtest.Optional(t, "apk", "samples"); !ok {
		return nil // fuzzing still runs on the generated seeds
	}
	apks := sharedtest.Glob(t, "apk", "samples", "*.apk")
	var out [][]byte
	for _, a := range apks {
		for _, d := range readDexEntries(t, a) {
			if len(d.data) <= 32<<10 {
				out = append(out, d.data)
			} else {
				out = append(out, d.data[:8<<10])
			}
		}
	}
	return out
}

// exercise calls every reader of f; the fuzzer only checks it returns.
func exercise(f *dex.File) {
	for range f.Strings() {
	}
	for range f.Classes() {
	}
	for i := range f.NumClasses() {
		_, _ = f.Class(i)
	}
	var buf []byte
	for i := range f.NumMethods() {
		if m, err := f.Method(i); err == nil {
			buf, _ = f.AppendProto(buf[:0], m.Proto)
		}
	}
	for range f.Fields() {
	}
	for i := range f.NumTypes() {
		_, _ = f.TypeDescriptor(i)
	}
	f.CheckStrings()
	f.FindString("Ljava/lang/Object;")
	f.HasMethod("Ljava/lang/Runtime;", "exec")
	f.ScanCode()
	dex.MeasureStrings(f.ConstStrings())
	for range f.InvokedMethods() {
	}
	PackageCounts(nil, 2, f)
	NewClassSet().AddFile(f)
	_ = f.VerifyChecksum()
	_ = f.VerifySignature()
}

func FuzzParse(f *testing.F) {
	f.Add(mustBuild(f, auditSpec))
	f.Add(mustBuild(f, dextest.Spec{Version: 41, Classes: []string{"La;"}, Strings: []string{"x"}}))
	if c, err := dextest.BuildContainer(auditSpec, dextest.Spec{Classes: []string{"Lb/B;"}}); err == nil {
		f.Add(c)
	}
	for _, s := range corpusSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dex.Detect(data)
		_, _ = dex.ODEXPayload(data)
		files, err := dex.ParseContainer(data)
		if err != nil {
			return
		}
		for _, df := range files {
			exercise(df)
		}
	})
}
