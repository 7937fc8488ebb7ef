package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/apkbuild"
	"github.com/outflow-dev/outflow/internal/appaudit/dex/dextest"
)

// bigApp is a built app with two DEX files of 20,000 classes and 40,000
// strings each, the shape of a large real app's code.
func bigApp(b *testing.B) []byte {
	var files []apkbuild.File
	files = append(files, manifestFile(apkbuild.Manifest{Package: "com.example.big", VersionCode: 1, Permissions: []string{"android.permission.INTERNET"}}))
	for i := 1; i <= 2; i++ {
		spec := dextest.Spec{}
		for c := range 20000 {
			spec.Classes = append(spec.Classes, fmt.Sprintf("Lcom/example/big/d%d/m%d/Class%d;", i, c%97, c))
		}
		spec.Classes = append(spec.Classes, "Lcom/tencent/bugly/crashreport/CrashReport;")
		for s := range 40000 {
			if s%10 == 0 {
				spec.Strings = append(spec.Strings, fmt.Sprintf("https://api%d.example.com/v1/item?id=%d", s%37, s))
			} else {
				spec.Strings = append(spec.Strings, fmt.Sprintf("some message text number %d for the user", s))
			}
		}
		d := mustDex(b, spec)
		name := "classes.dex"
		if i > 1 {
			name = fmt.Sprintf("classes%d.dex", i)
		}
		files = append(files, apkbuild.File{Name: name, Data: d})
	}
	return mustZip(b, files...)
}

// BenchmarkAuditBuilt is the whole audit of one large built app.
func BenchmarkAuditBuilt(b *testing.B) {
	app := bigApp(b)
	a := New(DefaultConfig(), builtinAttributor(b), nil, nil)
	b.SetBytes(int64(len(app)))
	b.ReportAllocs()
	for b.Loop() {
		if r := auditBytes(b, a, "big.apk", app); r.Error != "" || r.ClassCount != 40001 {
			b.Fatalf("error %q classes %d", r.Error, r.ClassCount)
		}
	}
}

// BenchmarkAuditCorpus audits the largest shared sample.
func BenchmarkAuditCorpus(b *testing.B) {
	dir := corpusOrSkip(b)
	path := filepath.Join(dir, "samples", "alibaba_arouter-demo-1.5.2.apk")
	st, err := os.Stat(path)
	if err != nil {
		b.Skip(err)
	}
	a := New(DefaultConfig(), builtinAttributor(b), nil, nil)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if r := a.Audit(context.Background(), path); r.Error != "" {
			b.Fatal(r.Error)
		}
	}
}

// BenchmarkAuditFile audits the app named by OUTFLOW_BENCH_APK (for
// profiling the audit of a large app, such as bench/audit's synthetic one).
func BenchmarkAuditFile(b *testing.B) {
	path := os.Getenv("OUTFLOW_BENCH_APK")
	if path == "" {
		b.Skip("set OUTFLOW_BENCH_APK to an app file")
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	a := New(DefaultConfig(), builtinAttributor(b), nil, nil)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if r := a.Audit(context.Background(), path); r.Error != "" {
			b.Fatal(r.Error)
		}
	}
}
