package version

import (
	"runtime/debug"
	"testing"
)

func build(v string, settings ...string) func() (*debug.BuildInfo, bool) {
	return func() (*debug.BuildInfo, bool) {
		bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/outflow-dev/outflow", Version: v}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi, true
	}
}

func TestFromBuild(t *testing.T) {
	for _, tc := range []struct {
		name, release, short, long string
		read                       func() (*debug.BuildInfo, bool)
	}{
		{"tagged", "", "v1.2.3", "outflow v1.2.3 (0123456789ab, 2026-12-01T10:00:00Z) go1.26.8",
			build("v1.2.3", "vcs.revision", "0123456789abcdef", "vcs.time", "2026-12-01T10:00:00Z", "vcs.modified", "false")},
		{"devel with revision", "", "devel+0123456789ab-modified", "outflow devel (0123456789ab, modified) go1.26.8",
			build("(devel)", "vcs.revision", "0123456789abcdef", "vcs.modified", "true")},
		{"pseudo dirty", "", "v0.0.0-20261206031609-9bce9e5abcde-modified", "outflow v0.0.0-20261206031609-9bce9e5abcde (9bce9e5abcde, modified) go1.26.8",
			build("v0.0.0-20261206031609-9bce9e5abcde+dirty", "vcs.revision", "9bce9e5abcdeffff")},
		{"release flag wins", "v2.0.0", "v2.0.0", "outflow v2.0.0 go1.26.8", build("(devel)")},
		{"no build info", "", "devel", "outflow devel " + "go1.26.8", func() (*debug.BuildInfo, bool) { return nil, false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fromBuild(tc.release, tc.read)
			if tc.name == "no build info" {
				in.Go = "go1.26.8"
			}
			if got := in.Short(); got != tc.short {
				t.Errorf("Short = %q, want %q", got, tc.short)
			}
			if got := in.String(); got != tc.long {
				t.Errorf("String = %q, want %q", got, tc.long)
			}
		})
	}
}
