package extract

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/apk"
	"github.com/outflow-dev/outflow/internal/appaudit/arsc"
	"github.com/outflow-dev/outflow/internal/appaudit/axml"
	"github.com/outflow-dev/outflow/internal/appaudit/elfscan"
)

// Config bounds the work on one app.
type Config struct {
	Archive apk.Limits
	ELF     elfscan.Limits
	// MaxManifest bounds AndroidManifest.xml in place of the archive's
	// compression-ratio check, which padded manifests (thousands of
	// identical elements, deflating a thousand to one) would fail. See
	// DefaultMaxManifest for the size.
	MaxManifest int64
	// MaxNativeLib is the largest native library read for the ELF scan;
	// larger ones are judged by their names only.
	MaxNativeLib int64
	// MaxHosts bounds the distinct hosts kept per app.
	MaxHosts int
	// MaxClassNames bounds the class names kept per Want.ClassPrefixes entry.
	MaxClassNames int
	// Workers parse DEX files in parallel; 0 means GOMAXPROCS.
	Workers int
}

// DefaultConfig suits real apps up to a few GiB.
func DefaultConfig() Config {
	return Config{
		Archive:       apk.DefaultLimits(),
		ELF:           elfscan.DefaultLimits(),
		MaxManifest:   DefaultMaxManifest,
		MaxNativeLib:  64 << 20,
		MaxHosts:      20000,
		MaxClassNames: 64,
	}
}

// DefaultMaxManifest is the largest manifest read whole: 16 MiB. The
// binary manifests of the shared corpus are 2-13 KB; the largest real ones
// (apps declaring thousands of components, such as plugin hosts with stub
// activities, or Google Play services) are a few hundred KB to about 2 MB
// inflated. 16 MiB is eight times that. It bounds a parse at about five
// times its size allocated (82 MB measured for 16.5 MB of <meta-data>),
// whatever the entry declares or the ratio; the archive's ratio check,
// which a padded manifest fails at 25,000 identical elements (278:1), is
// not applied to it. A manifest over the limit is read as far as the
// limit (enough for the package name, which comes first unless a huge
// string pool precedes it) and the app is reported as not fully read.
const DefaultMaxManifest = 16 << 20

// App is what was read from one app. Fields that could not be read are
// zero, with the reason in Problems.
type App struct {
	Name   string // the path given
	Size   int64
	SHA256 string
	Kind   apk.Kind

	// Manifest is nil when the app has none or it could not be parsed.
	// When the manifest is over Config.MaxManifest, it holds what its
	// first bytes say (the package at least) and ManifestPartial is set; a
	// Problem says why.
	Manifest        *axml.Manifest
	ManifestPartial bool
	HasManifest     bool
	// HasResources says whether resources.arsc is present; Resources is
	// nil when absent or unreadable.
	HasResources bool
	Resources    *arsc.Table
	Label        string

	Signers []Signer
	// Entries counts the members of the primary archives.
	Entries int
	Code    Code
	Native  []Native
	// NameMarks are packer marks found by entry name alone.
	NameMarks []Mark

	Problems []Problem
	Warnings []string
	Elapsed  time.Duration
}

// Problem is something of the app that could not be read.
type Problem struct {
	Where string // entry path, "" for the app itself
	Part  string // "manifest", "resources", "dex", "archive", "signature", "native"
	Err   error
}

func (p Problem) String() string {
	if p.Where != "" {
		return p.Part + ": " + p.Where + ": " + p.Err.Error()
	}
	return p.Part + ": " + p.Err.Error()
}

// IsLimit reports whether the problem is a configured limit being hit.
func (p Problem) IsLimit() bool {
	var le *apk.LimitError
	return errors.As(p.Err, &le)
}

// Mark is a packer mark with the entry it was found in.
type Mark struct {
	Where string
	elfscan.Mark
}

// Native is one native library looked at.
type Native struct {
	Entry   string
	ABI     string
	Scanned bool // the ELF was read (else only its name was checked)
	Info    *elfscan.Info
	Marks   []elfscan.Mark
	Err     string
}

// Primary DEX entries: the names androguard reads (classes.dex,
// classes2.dex...), including those the runtime skips (see Code.SkippedDex).
var primaryDex = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^classes\d*\.dex$`) })

// Read reads the app at path. The error is for a file that cannot be
// opened as an app at all; everything else is a Problem in the App.
func Read(ctx context.Context, path string, cfg Config, plan *Plan) (*App, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	app, err := ReadFrom(ctx, path, f, st.Size(), cfg, plan)
	if app != nil {
		app.Elapsed = time.Since(start)
	}
	return app, err
}

// ReadFrom reads an app held in r.
func ReadFrom(ctx context.Context, name string, r io.ReaderAt, size int64, cfg Config, plan *Plan) (*App, error) {
	cfg = cfg.withDefaults()
	app := &App{Name: name, Size: size}
	hashed := make(chan string, 1)
	go func() { hashed <- hashOf(r, size) }()
	defer func() { app.SHA256 = <-hashed }()

	a, err := apk.NewReader(name, r, size, cfg.Archive)
	if err != nil {
		return app, err
	}
	defer a.Close()
	app.Kind = a.Kind()
	app.Warnings = append(app.Warnings, a.Warnings()...)

	primary := map[string]bool{} // paths of the archives whose classes*.dex are the app's code
	switch a.Kind() {
	case apk.KindXAPK, apk.KindAPKS:
		base, err := a.Base()
		if err != nil {
			app.Problems = append(app.Problems, Problem{Part: "archive", Err: err})
		} else {
			readBase(app, base, cfg)
		}
		for _, e := range a.Entries() {
			if strings.HasSuffix(e.Name, ".apk") {
				primary[name+"!"+e.Name] = true
			}
		}
	case apk.KindDEX:
		primary[name] = true
	default:
		readBase(app, a, cfg)
		primary[name] = true
	}

	c := newCollector(ctx, app, cfg, plan)
	werr := a.Walk(func(it apk.Item) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return c.item(it, primary)
	})
	c.finish()
	if werr != nil {
		app.Problems = append(app.Problems, Problem{Part: "archive", Err: werr})
		if errors.Is(werr, context.Canceled) || errors.Is(werr, context.DeadlineExceeded) {
			return app, werr
		}
	}
	return app, nil
}

// readBase reads the manifest, resources and signature of the APK that
// carries the app's identity.
func readBase(app *App, a *apk.Archive, cfg Config) {
	app.Entries = len(a.Entries())
	if a.Has("AndroidManifest.xml") {
		app.HasManifest = true
		readManifest(app, a, cfg)
	}
	if a.Has("resources.arsc") {
		app.HasResources = true
		b, err := a.ReadFile("resources.arsc")
		if err == nil {
			app.Resources, err = arsc.Parse(b)
		}
		if err != nil {
			app.Resources = nil
			app.Problems = append(app.Problems, Problem{Where: "resources.arsc", Part: "resources", Err: err})
		}
	}
	if m := app.Manifest; m != nil {
		if app.Resources != nil {
			m.Resolve(app.Resources)
		}
		app.Label = m.Application.Label
		if m.Application.LabelRef != 0 && app.Resources != nil {
			if s, ok := app.Resources.ResolveString(m.Application.LabelRef); ok {
				app.Label = s
			}
		}
	}
	readSigners(app, a)
}

// readManifest reads AndroidManifest.xml under Config.MaxManifest. A
// manifest cut by a limit is still parsed as far as it goes, so that the
// package name can decide a verdict; the Problem recorded keeps the app
// from passing as fully read.
func readManifest(app *App, a *apk.Archive, cfg Config) {
	b, err := a.ReadPrefix("AndroidManifest.xml", cfg.MaxManifest)
	if err == nil {
		if app.Manifest, err = axml.ParseManifest(b); err != nil {
			app.Manifest = nil
		}
	} else if len(b) > 0 {
		if d, perr := axml.ParsePrefix(b); perr == nil {
			if m, merr := axml.DecodeManifest(d); merr == nil {
				app.Manifest, app.ManifestPartial = m, true
			}
		}
	}
	if err != nil {
		app.Problems = append(app.Problems, Problem{Where: "AndroidManifest.xml", Part: "manifest", Err: err})
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxManifest <= 0 {
		c.MaxManifest = d.MaxManifest
	}
	if c.MaxNativeLib <= 0 {
		c.MaxNativeLib = d.MaxNativeLib
	}
	if c.MaxHosts <= 0 {
		c.MaxHosts = d.MaxHosts
	}
	if c.MaxClassNames <= 0 {
		c.MaxClassNames = d.MaxClassNames
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.ELF == (elfscan.Limits{}) {
		c.ELF = d.ELF
	}
	return c
}

func hashOf(r io.ReaderAt, size int64) string {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sortedKeys returns the keys of a set in order.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// dexIsPrimary reports whether a DEX item is one of the app's own
// classes*.dex files, as opposed to code nested deeper.
func dexIsPrimary(it apk.Item, primary map[string]bool) bool {
	if primary[it.Path] { // a bare DEX opened directly
		return true
	}
	parent := strings.TrimSuffix(it.Path, "!"+it.Entry)
	return primary[parent] && primaryDex().MatchString(it.Entry)
}
