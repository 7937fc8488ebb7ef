// Command mkapk writes a small APK for the end-to-end test's upload: a
// binary AndroidManifest.xml built by the audit's own test helper
// (internal/appaudit/audit/apkbuild), so that no third-party app is
// copied into the repository.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/apkbuild"
)

func main() {
	out := flag.String("o", "app.apk", "file to write")
	version := flag.String("version", "1.0", "versionName")
	flag.Parse()
	m := apkbuild.Manifest{Package: "com.zhiliaoapp.musically", VersionName: *version, VersionCode: 1, Label: "TikTok",
		Permissions: []string{"android.permission.ACCESS_FINE_LOCATION", "android.permission.READ_CONTACTS"}}
	b, err := apkbuild.Zip(apkbuild.File{Name: "AndroidManifest.xml", Data: m.Binary()})
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		log.Fatal(err)
	}
}
