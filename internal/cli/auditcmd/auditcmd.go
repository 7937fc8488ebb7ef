// Package auditcmd is `outflow audit`: Android apps (APK, XAPK, split sets,
// JAR, DEX, or folders of them) to a report of the SDKs of concern they
// embed, the personal data they can reach, what they can do to the device,
// how they resist analysis, the hosts they name, who signed them, and a
// verdict under a policy.
//
// It must never import another subcommand's package.
package auditcmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/audit"
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/outfile"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/report/audithtml"
	"github.com/outflow-dev/outflow/internal/report/auditreport"
	"github.com/outflow-dev/outflow/internal/report/auditsarif"
	"github.com/outflow-dev/outflow/internal/safetext"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/auditfeed"
	"github.com/outflow-dev/outflow/internal/store/backend"
	"github.com/outflow-dev/outflow/internal/version"
)

// Command returns `outflow audit`.
func Command() cli.Command {
	return cli.Command{Name: "audit", Summary: "audit Android apps: SDKs of concern, personal data, capabilities, anti-analysis, endpoints", Run: Run}
}

const usage = `audit [flags] APP|FOLDER...   (APK, XAPK, APKS/APKM, JAR, AAR, DEX; folders are searched)

exit status: 0 nothing of concern, 3 an app of concern or not fully read (with
--policy or --ban: a verdict other than allow; an app a limit or an error left
partly unread is "incomplete", never allow), 1 usage error, 2 an app could not
be read`

// Options are audit's flags.
type Options struct {
	JSON       bool
	SARIF      string
	HTML       string
	Output     string
	All        bool
	Policy     string
	Ban        cli.Strings
	Catalog    cli.CatalogFlags
	NoProgress bool
	Limits     limitFlags
	Store      string // write the audits to this store ("" = don't)
	Device     string // the device the apps came from, for the store
}

// Run is the command.
func Run(ctx context.Context, env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "audit", usage)
	var o Options
	o.Catalog.Register(fs)
	fs.BoolVar(&o.JSON, "json", false, "write the report as JSON (docs/output.md)")
	fs.StringVar(&o.SARIF, "sarif", "", "also write SARIF 2.1.0 to this file (- for standard output)")
	fs.StringVar(&o.HTML, "html", "", "also write a self-contained HTML report to this file")
	fs.StringVar(&o.Output, "o", "", "write the report to this file instead of standard output")
	fs.BoolVar(&o.All, "all", false, "list every host and all evidence kept")
	fs.StringVar(&o.Policy, "policy", "", "decide a verdict per app under this policy file (docs/policy.md)")
	fs.Var(&o.Ban, "ban", "block apps owned or signed by, or embedding an SDK of, this entity, list or country (repeatable)")
	fs.BoolVar(&o.NoProgress, "no-progress", false, "never draw a progress bar")
	fs.StringVar(&o.Store, "store", "", "also record the audits in this store (the dashboard's Apps page)")
	fs.StringVar(&o.Device, "device", "", "with --store: the device the apps were taken from")
	o.Limits.register(fs)
	files, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	if len(files) == 0 {
		fs.Usage()
		return cli.ExitFailure
	}
	if o.Policy != "" && len(o.Ban) > 0 {
		return env.Errorf(cli.ExitFailure, "audit: --policy and --ban exclude each other")
	}
	if o.JSON && o.SARIF == "-" {
		return env.Errorf(cli.ExitFailure, "audit: --json and --sarif - both want standard output")
	}
	cfg, err := o.Limits.config()
	if err != nil {
		return env.Errorf(cli.ExitFailure, "audit: %v", err)
	}
	return Audit(ctx, env, o, cfg, files)
}

// Audit runs an audit with options.
func Audit(ctx context.Context, env *cli.Env, o Options, cfg audit.Config, paths []string) int {
	ix, err := o.Catalog.Open(env)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "catalog: %v", err)
	}
	var pol *policy.Policy
	switch {
	case o.Policy != "":
		if pol, err = policy.Load(o.Policy); err == nil {
			err = pol.Check(ix)
		}
	case len(o.Ban) > 0:
		pol, err = policy.Quick(ix, o.Ban...)
	}
	if err != nil {
		return env.Errorf(cli.ExitFailure, "audit: policy: %v", err)
	}

	a := audit.New(cfg, attribute.New(ix), pol, env.Now)
	files, errs := audit.Expand(paths)
	var reps []*audit.Report
	for _, e := range errs {
		name := e.Error()
		var pe *fs.PathError
		if errors.As(e, &pe) {
			name = pe.Path
		}
		reps = append(reps, a.Unreadable(name, e))
	}
	if len(files) == 0 && len(reps) == 0 {
		return env.Errorf(cli.ExitInput, "audit: no app files (.apk, .xapk, .apks, .apkm, .jar, .aar, .dex) under %v", paths)
	}

	bar := newProgress(env.Stderr, len(files), o.NoProgress)
	bar.start(files)
	reps = append(reps, a.AuditAll(ctx, files, func(done int, r *audit.Report) { bar.update(done, r) })...)
	bar.finish()
	for _, r := range reps {
		if r.Error != "" {
			// Both may hold names from inside the app (entries, nested files).
			fmt.Fprintf(env.Stderr, "outflow: audit: %s: %s\n", safetext.Terminal(r.File), safetext.Terminal(r.Error))
		}
	}

	doc := &audit.Document{
		Generated: env.Now().UTC(), Tool: "outflow " + version.Short(),
		Catalog: catalogInfo(ix), Policy: o.Policy, Apps: reps, Summary: audit.Summarize(reps),
	}
	if pol != nil && o.Policy == "" {
		doc.Policy = "--ban"
	}
	if err := write(env, o, doc); err != nil {
		return env.Errorf(cli.ExitFailure, "audit: writing the report: %v", err)
	}
	if o.Store != "" {
		if err := record(ctx, env, o, reps); err != nil {
			return env.Errorf(cli.ExitFailure, "audit: --store: %v", err)
		}
	}
	switch {
	case ctx.Err() != nil, doc.Summary.Errors > 0:
		return cli.ExitInput
	case doc.Summary.Concern > 0:
		return cli.ExitConcern
	}
	return cli.ExitOK
}

// record writes each audited app to the store, one batch per app.
func record(ctx context.Context, env *cli.Env, o Options, reps []*audit.Report) error {
	sc := store.DefaultConfig()
	sc.Path = o.Store
	st, err := backend.Open(ctx, sc, env.Log)
	if err != nil {
		return err
	}
	now := env.Now()
	for _, r := range reps {
		if r.Error != "" && r.Package == "" {
			continue
		}
		if err := st.Write(ctx, auditfeed.Batch(r, now, o.Device)); err != nil {
			st.Close()
			return err
		}
	}
	return st.Close()
}

func write(env *cli.Env, o Options, doc *audit.Document) error {
	if err := toFile(o.Output, env.Stdout, func(w io.Writer) error {
		if o.JSON {
			return auditreport.JSON(w, doc)
		}
		if o.SARIF == "-" {
			return nil
		}
		return auditreport.Write(w, doc, auditreport.Options{All: o.All})
	}); err != nil {
		return err
	}
	if o.SARIF != "" {
		out := o.SARIF
		if out == "-" {
			out = o.Output
		}
		if err := toFile(out, env.Stdout, func(w io.Writer) error {
			return auditsarif.Write(w, doc, audit.Rules(), auditsarif.Options{ToolVersion: version.Short()})
		}); err != nil {
			return err
		}
	}
	if o.HTML != "" {
		if err := toFile(o.HTML, env.Stdout, func(w io.Writer) error {
			return audithtml.Write(w, doc, audithtml.Options{})
		}); err != nil {
			return err
		}
	}
	return nil
}

// toFile runs fn on a buffered writer to path, or to std when path is "".
// A file is written through outfile: replaced atomically, or written in
// place when it is a device, and never removed on failure.
func toFile(path string, std io.Writer, fn func(io.Writer) error) error {
	if path != "" {
		return outfile.Write(path, fn)
	}
	bw := bufio.NewWriter(std)
	if err := fn(bw); err != nil {
		return err
	}
	return bw.Flush()
}

func catalogInfo(ix *catalog.Index) audit.CatalogInfo {
	ci := audit.CatalogInfo{Entities: len(ix.Entities), Assets: ix.AssetCount(), DomainPatterns: ix.DomainCount()}
	if !ix.At.IsZero() {
		ci.OwnershipAsOf = ix.At.UTC().Format(time.DateOnly)
	}
	for _, a := range ix.Assets() {
		if a.Kind == catalog.KindSDK {
			ci.SDKPrefixes++
		}
	}
	return ci
}
