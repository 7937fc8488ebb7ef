package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/extract"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/finding"
	"github.com/outflow-dev/outflow/internal/appaudit/audit/rules"
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/policy"
)

// Config bounds the work on one app.
type Config struct {
	Extract extract.Config
	// Timeout bounds the audit of one app; 0 means none.
	Timeout time.Duration
	// Client is who the policy's verdict is for (its groups select rules);
	// by default an Android device in no group.
	Client policy.Client
	// Jobs is how many apps AuditAll reads at once (default 1: memory then
	// follows the largest app, not the sum of several).
	Jobs int
}

// DefaultConfig suits real apps up to a few GiB.
func DefaultConfig() Config {
	return Config{
		Extract: extract.DefaultConfig(),
		Timeout: 5 * time.Minute,
		Client:  policy.Client{Platform: "android"},
		Jobs:    1,
	}
}

// Auditor audits apps. It is safe for concurrent use; New does no I/O.
type Auditor struct {
	cfg   Config
	at    *attribute.Attributor
	pol   *policy.Policy
	sdks  *sdkTable
	rules *rules.Set
	now   func() time.Time
}

// New returns an Auditor that attributes through at and, when pol is not
// nil, decides verdicts under pol. now is the clock of verdict deadlines
// (nil: time.Now).
func New(cfg Config, at *attribute.Attributor, pol *policy.Policy, now func() time.Time) *Auditor {
	if now == nil {
		now = time.Now
	}
	a := &Auditor{cfg: cfg, at: at, pol: pol, now: now}
	if at != nil {
		a.sdks = newSDKTable(at.Index())
	} else {
		a.sdks = newSDKTable(nil)
	}
	a.rules = rules.Compile(a.sdks.classify, len(a.sdks.assets))
	return a
}

// Audit audits the app at path. It always returns a report; Report.Error
// says when the app could not be read.
func (a *Auditor) Audit(ctx context.Context, path string) *Report {
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	start := time.Now()
	app, err := extract.Read(ctx, path, a.cfg.Extract, a.rules.Plan())
	return a.report(path, app, err, start)
}

// Unreadable is the report of an app that could not be opened at all (a
// path the command line named that cannot be read): not cleared, like any
// app not fully read.
func (a *Auditor) Unreadable(name string, err error) *Report {
	return a.report(name, nil, err, time.Now())
}

func (a *Auditor) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.cfg.Timeout > 0 {
		return context.WithTimeout(ctx, a.cfg.Timeout)
	}
	return context.WithCancel(ctx)
}

func (a *Auditor) report(name string, app *extract.App, err error, start time.Time) *Report {
	r := &Report{File: name}
	if err != nil {
		r.Error = err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			r.Error = fmt.Sprintf("time limit of %s reached: the report covers what was read", a.cfg.Timeout)
		}
	}
	if app == nil {
		a.failClosed(r, gaps(r, nil))
		r.Stats.ElapsedMS = time.Since(start).Milliseconds()
		return normalize(r)
	}
	r.SHA256, r.Size, r.Kind = app.SHA256, app.Size, strings.ToLower(app.Kind.String())
	if err != nil && app.Code.DexBytes == 0 && app.Manifest == nil {
		r.Kind = ""
	}
	if m := app.Manifest; m != nil {
		r.Package, r.VersionName, r.VersionCode = m.Package, m.VersionName, m.VersionCode
		r.MinSDK, r.TargetSDK, r.CompileSDK = m.MinSDK, m.TargetSDK, m.CompileSDK
		r.ApplicationClass = m.Application.Name
		for _, p := range m.UsesPermissions {
			if !slices.Contains(r.Permissions, p.Name) {
				r.Permissions = append(r.Permissions, p.Name)
			}
		}
		slices.Sort(r.Permissions)
	}
	r.Label = app.Label
	c := &app.Code
	r.DexFiles, r.ClassCount, r.EmbeddedClassCount, r.Nested = c.DexFiles, c.Classes, c.EmbeddedClasses, c.Nested
	for _, n := range app.Native {
		nl := NativeLib{Entry: n.Entry, ABI: n.ABI, Scanned: n.Scanned, Error: n.Err}
		for _, m := range n.Marks {
			if !slices.Contains(nl.Protectors, m.Protector) {
				nl.Protectors = append(nl.Protectors, m.Protector)
			}
		}
		r.NativeLibs = append(r.NativeLibs, nl)
	}

	res := a.rules.Evaluate(app)
	r.DataCategories = res.Data
	r.Findings = res.Findings
	r.Incomplete = gaps(r, app)
	if len(r.Incomplete) > 0 {
		r.Findings = append(r.Findings, incompleteFinding(r.Incomplete))
	}
	a.entities(r, app)
	a.failClosed(r, r.Incomplete)
	r.Stats = Stats{Entries: app.Entries, DexBytes: c.DexBytes, StringsMeasured: c.Stats.Measured,
		StringsEncoded: c.Stats.Encoded, Hosts: len(c.Hosts), ElapsedMS: time.Since(start).Milliseconds()}
	sortFindings(r.Findings)
	return normalize(r)
}

// failClosed makes an app with gaps of concern, and its verdict under a
// policy "incomplete" unless what was read already blocks it: a limit or
// an error must never turn into "allow". The verdict itself is decided in
// verdict; this covers the apps that never reach it (unreadable files, no
// catalog).
func (a *Auditor) failClosed(r *Report, gs []Gap) {
	if len(gs) == 0 {
		return
	}
	r.Incomplete = gs
	if !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool { return f.ID == rules.IDIncomplete }) {
		r.Findings = append(r.Findings, incompleteFinding(gs))
	}
	r.Concern = true
	if a.pol != nil && (r.Verdict == nil || r.Verdict.Action == "allow") {
		r.Verdict = incompleteVerdict(gs)
	}
}

// normalize makes empty lists empty arrays in JSON.
func normalize(r *Report) *Report {
	if r.Permissions == nil {
		r.Permissions = []string{}
	}
	if r.Signers == nil {
		r.Signers = []Signer{}
	}
	if r.DexFiles == nil {
		r.DexFiles = []string{}
	}
	if r.Nested == nil {
		r.Nested = []Nested{}
	}
	if r.NativeLibs == nil {
		r.NativeLibs = []NativeLib{}
	}
	if r.SDKs == nil {
		r.SDKs = []SDK{}
	}
	if r.DataCategories == nil {
		r.DataCategories = []rules.DataCategory{}
	}
	if r.Endpoints == nil {
		r.Endpoints = []Endpoint{}
	}
	if r.Findings == nil {
		r.Findings = []finding.Finding{}
	}
	if r.Incomplete == nil {
		r.Incomplete = []Gap{}
	}
	return r
}

var categoryOrder = []finding.Category{finding.CatEntity, finding.CatCapability, finding.CatAntiAnalysis, finding.CatEndpoint, finding.CatData, finding.CatInput}

func sortFindings(fs []finding.Finding) {
	slices.SortStableFunc(fs, func(a, b finding.Finding) int {
		if a.Severity != b.Severity {
			return int(b.Severity) - int(a.Severity)
		}
		if ca, cb := slices.Index(categoryOrder, a.Category), slices.Index(categoryOrder, b.Category); ca != cb {
			return ca - cb
		}
		if a.ID != b.ID {
			return strings.Compare(a.ID, b.ID)
		}
		return strings.Compare(a.Subject, b.Subject)
	})
}

// Rules lists every rule the audit can raise.
func Rules() []finding.Rule { return rules.Rules() }

// notEndpoints are hosts of XML namespaces and schemas: names in every app
// that no code connects to.
var notEndpoints = map[string]bool{
	"schemas.android.com": true, "www.w3.org": true, "ns.adobe.com": true, "xmlpull.org": true,
	"purl.org": true, "schemas.xmlsoap.org": true, "java.sun.com": true, "xmlns.jcp.org": true,
	"xml.org": true, "www.xml.org": true, "apache.org": true, "www.apache.org": true,
}

func isAddr(h string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(h)
	return ip, err == nil
}

// Expand turns the command line's paths into app files: a file as given, a
// directory walked for files with app extensions. Paths that cannot be read
// are returned as errors, one per path, and do not stop the others.
func Expand(paths []string) ([]string, []error) {
	var files []string
	var errs []error
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, err)
				if d != nil && d.IsDir() && path != p {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if path == p || IsAppName(path) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return files, errs
}

// IsAppName reports whether a file name has an extension of an app or of
// code an app is built from.
func IsAppName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".apk", ".xapk", ".apks", ".apkm", ".jar", ".aar", ".dex":
		return true
	}
	return false
}

// AuditAll audits files, Config.Jobs at a time (each app's DEX files are
// read in parallel already), calling progress after each with the number
// done. Reports are in the order of files. An app that cannot be read gets a
// report with Error set; the batch goes on. Apps not started when ctx ends
// get no report.
func (a *Auditor) AuditAll(ctx context.Context, files []string, progress func(done int, r *Report)) []*Report {
	out := make([]*Report, len(files))
	jobs := max(a.cfg.Jobs, 1)
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	next := make(chan int)
	for range min(jobs, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := a.Audit(ctx, files[i])
				mu.Lock()
				out[i] = r
				done++
				if progress != nil {
					progress(done, r)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	kept := out[:0]
	for _, r := range out {
		if r != nil {
			kept = append(kept, r)
		}
	}
	return kept
}
