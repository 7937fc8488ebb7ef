// Package version says which build of outflow is running: the module
// version and the VCS revision Go stamps into every binary, or what a
// release build sets with -ldflags "-X". SARIF logs, report footers, the
// dashboard and `outflow --version` all print this one string, so a
// finding can be traced to the build that made it.
//
// It imports only the standard library and must never import another
// outflow package.
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// Release is set by release builds:
//
//	go build -ldflags "-X github.com/outflow-dev/outflow/internal/version.Release=v1.2.3"
//
// When empty, the version comes from the build info.
var Release string

// Info describes the running build.
type Info struct {
	Version  string // v1.2.3, a pseudo-version, or "devel"
	Revision string // VCS commit, empty when the build had no VCS stamp
	Time     string // commit time (RFC 3339), when stamped
	Modified bool   // the work tree had uncommitted changes
	Go       string // toolchain
}

var (
	once sync.Once
	info Info
)

// Get returns the running build's Info.
func Get() Info {
	once.Do(func() { info = fromBuild(Release, debug.ReadBuildInfo) })
	return info
}

func fromBuild(release string, read func() (*debug.BuildInfo, bool)) Info {
	in := Info{Version: "devel", Go: runtime.Version()}
	bi, ok := read()
	if ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			in.Version = v
		}
		if bi.GoVersion != "" {
			in.Go = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.time":
				in.Time = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if release != "" {
		in.Version = release
	}
	// Go's pseudo-version of a dirty tree ends in +dirty; say it once.
	if strings.HasSuffix(in.Version, "+dirty") {
		in.Version = strings.TrimSuffix(in.Version, "+dirty")
		in.Modified = true
	}
	return in
}

// Short is the version as one token for machine-read fields (SARIF's
// tool version, a report's meta tag): "v1.2.3", or "devel+abc1234" when
// only the revision is known, with "-modified" for a dirty tree.
func (in Info) Short() string {
	s := in.Version
	if in.Version == "devel" && in.Revision != "" {
		s += "+" + shortRev(in.Revision)
	}
	if in.Modified {
		s += "-modified"
	}
	return s
}

// String is the line `outflow --version` prints.
func (in Info) String() string {
	var b strings.Builder
	b.WriteString("outflow ")
	b.WriteString(in.Version)
	if in.Revision != "" {
		b.WriteString(" (")
		b.WriteString(shortRev(in.Revision))
		if in.Time != "" {
			b.WriteString(", ")
			b.WriteString(in.Time)
		}
		if in.Modified {
			b.WriteString(", modified")
		}
		b.WriteString(")")
	} else if in.Modified {
		b.WriteString(" (modified)")
	}
	b.WriteString(" ")
	b.WriteString(in.Go)
	return b.String()
}

// Short returns the running build's short version.
func Short() string { return Get().Short() }

func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}
