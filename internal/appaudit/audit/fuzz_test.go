package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/apkbuild"
	"github.com/outflow-dev/outflow/internal/appaudit/dex/dextest"
	"github.com/outflow-dev/outflow/internal/sharedtest"
)

// FuzzAudit runs the whole audit, every parser and rule, on arbitrary
// bytes: rejecting input is fine, panicking or hanging is not, and the
// report must always marshal.
func FuzzAudit(f *testing.F) {
	f.Add(droneApp(f))
	clean, _ := apkbuild.Zip(manifestFile(apkbuild.Manifest{Package: "a.b", VersionCode: 1}), apkbuild.File{Name: "classes.dex", Data: mustDex(f, dextest.Spec{Classes: []string{"La/B;"}})})
	f.Add(clean)
	for _, s := range []string{"androguard_AndroidManifest_ShortName.apk"} {
		if p, ok := sharedtest.Optional(f, "apk", "samples", s); ok {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	cfg := DefaultConfig()
	cfg.Timeout = 5 * time.Second
	cfg.Extract.Archive.MaxEntrySize = 4 << 20
	cfg.Extract.Archive.MaxTotalSize = 16 << 20
	cfg.Extract.Workers = 1
	a := New(cfg, builtinAttributor(f), nil, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := a.AuditReader(context.Background(), "fuzz.apk", bytes.NewReader(b), int64(len(b)))
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("report does not marshal: %v", err)
		}
		if r.ClassCount < 0 || r.EmbeddedClassCount < 0 {
			t.Fatalf("negative class counts %d %d", r.ClassCount, r.EmbeddedClassCount)
		}
		for _, s := range r.SDKs {
			if s.ClassCount+s.EmbeddedClassCount <= 0 {
				t.Fatalf("SDK %s listed without classes", s.ID)
			}
		}
	})
}
