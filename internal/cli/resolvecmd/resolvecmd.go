// Package resolvecmd is `outflow resolve`: run the filtering DNS resolver
// (from a configuration file, or the quick start flags), check a
// configuration and policy, and report from the query log which clients
// asked for banned names and which still ask after the deadline.
//
// It must never import another subcommand's package.
package resolvecmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/resolver"
	"github.com/outflow-dev/outflow/internal/resolver/neigh"
	"github.com/outflow-dev/outflow/internal/resolver/querylog"
	"github.com/outflow-dev/outflow/internal/resolver/upstream"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
	"github.com/outflow-dev/outflow/internal/store/entityrec"
	"github.com/outflow-dev/outflow/internal/store/policysync"
	"github.com/outflow-dev/outflow/internal/store/querylogsink"
)

// Command returns `outflow resolve`.
func Command() cli.Command {
	return cli.Command{Name: "resolve", Summary: "run the filtering DNS resolver; stats from its query log", Run: run}
}

const usage = `resolve [--config FILE] [--listen ADDR] [--upstream ADDR]... [--block ID...] [flags]
       outflow resolve check [--config FILE | --policy FILE]
       outflow resolve stats --log FILE [--since WHEN] [--json]

Runs the resolver until interrupted; SIGHUP reloads policy and catalog.
Quick start: outflow resolve --listen 127.0.0.1:5353 --upstream 127.0.0.1:53 --block bytedance
--block takes entity ids, list ids, ISO country codes (jurisdictions) or domain names.`

func run(ctx context.Context, env *cli.Env, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "stats":
			return stats(env, args[1:])
		case "check":
			return check(env, args[1:])
		case "import":
			return importLog(ctx, env, args[1:])
		}
	}
	return serve(ctx, env, args)
}

// flags are the settings the command line can give or override.
type flags struct {
	config    string
	listen    cli.Strings
	upstreams cli.Strings
	block     cli.Strings
	policy    string
	queryLog  string
	metrics   string
	rate      float64
	cacheSize int
	maxTCP    int
	tcpClient int
	tcpIdle   time.Duration
	catalog   cli.CatalogFlags
	leases    cli.Strings
	store     *string
	fromStore bool
}

func (f *flags) register(env *cli.Env, name, use string) *flag.FlagSet {
	fs := cli.NewFlags(env, name, use)
	fs.StringVar(&f.config, "config", "", "resolver configuration file (YAML; see docs/policy.md and the resolver section of the README)")
	fs.Var(&f.listen, "listen", "address to serve plain DNS on, UDP and TCP (repeatable; replaces the file's)")
	fs.Var(&f.upstreams, "upstream", "upstream resolver: IP:PORT, udp://, tcp://, tls://IP:PORT or https://URL (repeatable; replaces the file's)")
	fs.Var(&f.block, "block", "block an entity id, list id, country code or domain for every client with NXDOMAIN (repeatable)")
	fs.StringVar(&f.policy, "policy", "", "policy file (docs/policy.md)")
	fs.StringVar(&f.queryLog, "query-log", "", "write the query log as JSON lines to this file")
	fs.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9153)")
	fs.Float64Var(&f.rate, "rate-limit", -1, "queries per second allowed per client (0: no limit; default 1000 or the file's)")
	fs.IntVar(&f.cacheSize, "cache-size", -1, "answers kept in the cache (0: no cache; default 50000 or the file's)")
	fs.IntVar(&f.maxTCP, "max-tcp", -1, "TCP and DoT connections open at once (default 1024 or the file's)")
	fs.IntVar(&f.tcpClient, "max-tcp-per-client", -1, "TCP and DoT connections from one address, IPv6 /64 (0: no bound; default 32 or the file's)")
	fs.DurationVar(&f.tcpIdle, "tcp-idle", 0, "idle timeout of TCP and DoT connections while the table is under half full; shorter as it fills (default 10s or the file's)")
	fs.Var(&f.catalog.Dirs, "catalog-dir", "directory of catalog files to load on top of the built-in catalog (repeatable)")
	fs.Var(&f.leases, "dhcp-leases", "DHCP lease file, dnsmasq's or ISC dhcpd's: client hostnames (and MACs) for policy groups by hostnames and macs (repeatable; replaces the file's)")
	f.store = backend.Flag(fs)
	fs.BoolVar(&f.fromStore, "policy-from-store", false, "keep --policy FILE equal to the latest policy saved through the dashboard in --store (polled every 5s; validated, written atomically, reloaded)")
	return fs
}

// config builds the resolver configuration: the file, then the flags.
func (f *flags) build() (resolver.Config, error) {
	cfg := resolver.DefaultConfig()
	if f.config != "" {
		c, err := resolver.LoadConfig(f.config)
		if err != nil {
			return cfg, err
		}
		cfg = c
		// Paths in the file are relative to it.
		base := filepath.Dir(f.config)
		rel := func(p *string) {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(base, *p)
			}
		}
		rel(&cfg.Policy)
		rel(&cfg.QueryLog.Path)
		rel(&cfg.Clients.Neighbours)
		for i := range cfg.Clients.Leases {
			rel(&cfg.Clients.Leases[i])
		}
		for i := range cfg.Catalog.Dirs {
			rel(&cfg.Catalog.Dirs[i])
		}
		for i := range cfg.Listen.TLS {
			rel(&cfg.Listen.TLS[i].Cert)
			rel(&cfg.Listen.TLS[i].Key)
		}
		for i := range cfg.Listen.HTTPS {
			rel(&cfg.Listen.HTTPS[i].Cert)
			rel(&cfg.Listen.HTTPS[i].Key)
		}
		for i := range cfg.Upstream.Servers {
			rel(&cfg.Upstream.Servers[i].CAFile)
		}
	}
	if len(f.listen) > 0 {
		cfg.Listen.UDP = append([]string(nil), f.listen...)
		cfg.Listen.TCP = append([]string(nil), f.listen...)
		cfg.Listen.TLS, cfg.Listen.HTTPS = nil, nil
	}
	if len(f.upstreams) > 0 {
		cfg.Upstream.Servers = nil
		for _, u := range f.upstreams {
			cfg.Upstream.Servers = append(cfg.Upstream.Servers, upstream.Server{Address: u})
		}
	}
	if f.policy != "" {
		cfg.Policy = f.policy
		cfg.Block = nil
	}
	if len(f.block) > 0 {
		cfg.Block = append([]string(nil), f.block...)
		cfg.Policy = ""
	}
	if f.queryLog != "" {
		cfg.QueryLog.Path = f.queryLog
	}
	if len(f.leases) > 0 {
		cfg.Clients.Leases = append([]string(nil), f.leases...)
	}
	if f.metrics != "" {
		cfg.Metrics.Listen = f.metrics
	}
	if f.rate >= 0 {
		cfg.RateLimit.Rate = f.rate
	}
	if f.cacheSize >= 0 {
		cfg.Cache.Size = f.cacheSize
	}
	if f.maxTCP >= 0 {
		cfg.Listen.MaxTCP = f.maxTCP
	}
	if f.tcpClient >= 0 {
		cfg.Listen.MaxTCPPerClient = f.tcpClient
	}
	if f.tcpIdle != 0 {
		cfg.Listen.TCPIdle = f.tcpIdle
	}
	cfg.Catalog.Dirs = append(cfg.Catalog.Dirs, f.catalog.Dirs...)
	if cfg.Policy == "" && len(cfg.Block) == 0 {
		return cfg, errors.New("nothing to enforce: give --block ID..., --policy FILE or a configuration file with one")
	}
	return cfg, cfg.Validate()
}

func serve(ctx context.Context, env *cli.Env, args []string) int {
	var f flags
	fs := f.register(env, "resolve", usage)
	rest, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		if len(f.block) == 0 {
			return env.Errorf(cli.ExitFailure, "resolve: unexpected argument %q\nusage: outflow %s", rest[0], usage)
		}
		f.block = append(f.block, rest...) // --block a b c
	}
	cfg, err := f.build()
	if err != nil {
		return env.Errorf(cli.ExitFailure, "resolve: %v", err)
	}
	spareProc(&cfg.Listen)
	deps := resolver.Deps{Log: env.Log, Now: env.Now}
	if f.fromStore && (!storeSet(fs) || cfg.Policy == "") {
		return env.Errorf(cli.ExitFailure, "resolve: --policy-from-store needs --store and a policy file (--policy or the configuration's policy) to keep the store's policy in")
	}
	var srv *resolver.Server
	var syncer *policysync.Syncer
	if storeSet(fs) {
		sc := store.DefaultConfig()
		sc.Path = *f.store
		st, err := backend.Open(ctx, sc, env.Log)
		if err != nil {
			return env.Errorf(cli.ExitFailure, "resolve: --store: %v", err)
		}
		defer st.Close()
		// The sink records an entity from the catalog in force the first
		// time a query names it, so that the store knows its name even
		// when no flow to it was ever seen.
		var cur atomic.Pointer[catalog.Index]
		load := resolver.CatalogLoader(cfg.Catalog.Dirs)
		deps.LoadCatalog = func(at time.Time) (*catalog.Index, error) {
			ix, err := load(at)
			if err == nil {
				cur.Store(ix)
			}
			return ix, err
		}
		deps.Sinks = append(deps.Sinks, querylogsink.New(st).WithEntities(func(id string) (store.Entity, bool) {
			return catalogEntity(cur.Load(), id)
		}))
		if f.fromStore {
			pl, ok := st.(store.PolicyLog)
			if !ok {
				return env.Errorf(cli.ExitFailure, "resolve: --policy-from-store: this store keeps no policy history")
			}
			sc := policysync.DefaultConfig()
			sc.Path = cfg.Policy
			syncer = policysync.New(sc, policysync.Deps{Log: env.Log, Store: pl, Validate: validator(env, cfg.Catalog.Dirs),
				Changed: func() {
					if srv != nil {
						_ = srv.Reload() // a refusal is logged by Reload
					}
				}})
			// Before the policy is loaded: a new machine starts on the
			// store's policy, one that cannot reach the store on its file.
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			syncer.SyncLogged(sctx)
			cancel()
		}
	}
	srv, err = resolver.New(cfg, deps)
	if err != nil {
		return env.Errorf(cli.ExitInput, "resolve: %v", err)
	}
	// SIGHUP is caught before the addresses are announced: a SIGHUP sent
	// once they are must reload, not end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := srv.Start(ctx); err != nil {
		return env.Errorf(cli.ExitFailure, "resolve: %v", err)
	}
	if syncer != nil {
		done := make(chan struct{})
		go func() { defer close(done); syncer.Run(ctx) }()
		defer func() { <-done }() // before the store closes; every return below follows ctx's end
	}
	for _, kind := range []string{"udp", "tcp", "dot", "doh", "metrics"} {
		for _, a := range srv.Addrs(kind) {
			fmt.Fprintf(env.Stderr, "outflow resolve: %s on %s\n", kind, a)
		}
	}
	for {
		select {
		case <-ctx.Done():
			if err := srv.Close(); err != nil {
				return env.Errorf(cli.ExitFailure, "resolve: closing: %v", err)
			}
			return cli.ExitOK
		case <-hup:
			if err := srv.Reload(); err != nil {
				fmt.Fprintf(env.Stderr, "outflow resolve: reload refused, keeping the running policy: %v\n", err)
			} else {
				fmt.Fprintln(env.Stderr, "outflow resolve: reloaded")
			}
		}
	}
}

// validator refuses a policy the resolver would refuse: one that does not
// parse, has no rules, or names what the catalog lacks.
func validator(env *cli.Env, dirs []string) func(path string, b []byte) error {
	load := resolver.CatalogLoader(dirs)
	return func(path string, b []byte) error {
		ix, err := load(env.Now())
		if err != nil {
			return fmt.Errorf("catalog: %w", err)
		}
		p, err := policy.ParseWith(path, b, policy.Options{Catalog: ix})
		if err == nil {
			err = p.RequireRules()
		}
		if err == nil {
			err = p.Check(ix)
		}
		return err
	}
}

// catalogEntity is the store's record of a catalog entity, if ix has it.
func catalogEntity(ix *catalog.Index, id string) (store.Entity, bool) {
	if ix == nil || ix.Entities[id] == nil {
		return store.Entity{}, false
	}
	return entityrec.Of(ix.Entities[id]), true
}

// storeSet reports whether --store was given on the command line.
func storeSet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "store" })
	return set
}

// importLog loads recorded JSON-lines query logs into the store, so that a
// resolver that ran without --store (or elsewhere) shows in reports and the
// dashboard.
func importLog(ctx context.Context, env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "resolve import", "resolve import --store PATH --log FILE...")
	var logs cli.Strings
	fs.Var(&logs, "log", "JSON-lines query log to import; its rotated files are read too (repeatable)")
	path := backend.Flag(fs)
	var cf cli.CatalogFlags
	cf.Register(fs)
	rest, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	logs = append(logs, rest...)
	if len(logs) == 0 {
		fs.Usage()
		return cli.ExitFailure
	}
	ix, err := cf.Open(env)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "resolve import: catalog: %v", err)
	}
	sc := store.DefaultConfig()
	sc.Path = *path
	st, err := backend.Open(ctx, sc, env.Log)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "resolve import: --store: %v", err)
	}
	named := map[string]bool{}
	defer st.Close()
	var n, skipped int
	b := &store.Batch{}
	flush := func() error {
		if len(b.Queries) == 0 {
			return nil
		}
		err := st.Write(ctx, b)
		b = &store.Batch{}
		return err
	}
	for _, l := range logs {
		for _, p := range append(querylog.Rotated(l), l) {
			fh, err := os.Open(p)
			if err != nil {
				return env.Errorf(cli.ExitInput, "resolve import: %v", err)
			}
			bad, err := querylog.Read(fh, func(r *querylog.Record) error {
				q, ok, err := querylogsink.FromRecord(r)
				if err != nil || !ok {
					skipped++
					return nil
				}
				b.Queries = append(b.Queries, q)
				if q.Entity != "" && !named[q.Entity] {
					named[q.Entity] = true
					if e, ok := catalogEntity(ix, q.Entity); ok {
						b.Entities = append(b.Entities, e)
					}
				}
				n++
				if len(b.Queries) >= 50_000 {
					return flush()
				}
				return nil
			})
			fh.Close()
			if err != nil {
				return env.Errorf(cli.ExitInput, "resolve import: %s: %v", p, err)
			}
			skipped += bad
		}
	}
	if err := flush(); err != nil {
		return env.Errorf(cli.ExitFailure, "resolve import: %v", err)
	}
	fmt.Fprintf(env.Stdout, "imported %d queries (%d lines skipped)\n", n, skipped)
	return cli.ExitOK
}

// check validates a configuration (with its policy against the catalog)
// or a policy file alone.
func check(env *cli.Env, args []string) int {
	var f flags
	fs := f.register(env, "resolve check", "resolve check [--config FILE | --policy FILE] [--catalog-dir DIR]")
	if _, code, ok := cli.Parse(fs, args); !ok {
		return code
	}
	cfg, err := f.build()
	if err != nil && !(f.config == "" && f.policy != "") {
		return env.Errorf(cli.ExitFailure, "resolve check: %v", err)
	}
	ix, err := catalog.Open(env.Now(), cfg.Catalog.Dirs...)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "resolve check: catalog: %v", err)
	}
	var pol *policy.Policy
	if cfg.Policy != "" {
		pol, err = policy.Load(cfg.Policy)
	} else {
		pol, err = policy.Quick(ix, cfg.Block...)
	}
	if err == nil {
		err = pol.RequireRules()
	}
	if err == nil {
		err = pol.Check(ix)
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return cli.ExitFailure
	}
	fmt.Fprintf(env.Stdout, "policy ok: %d groups, %d rules, %d names\n", len(pol.Groups), len(pol.Rules), pol.NameCount())
	if len(pol.Rules) == 0 {
		fmt.Fprintln(env.Stdout, "note: allow_empty is set and there are no rules: this policy blocks nothing")
	}
	if pol.HasDeviceGroups() {
		checkClients(env, cfg.Clients)
	}
	return cli.ExitOK
}

// checkClients reads the client tables once, as the resolver will, so
// that a lease file it cannot read is seen before groups by MAC or
// hostname silently select nobody. Only a note: a lease file may appear
// later.
func checkClients(env *cli.Env, c resolver.Clients) {
	if c.Neighbours == "" && !c.IPv6Neighbours && len(c.Leases) == 0 {
		fmt.Fprintln(env.Stdout, "note: the policy has groups by macs or hostnames, but clients.neighbours and clients.leases name nothing to learn them from: they select no client")
		return
	}
	m, err := neigh.New(neigh.Config{ARP: c.Neighbours, IPv6: c.IPv6Neighbours, Leases: c.Leases}).Read(env.Now())
	fmt.Fprintf(env.Stdout, "clients: %d addresses with a MAC or hostname now\n", len(m))
	if err != nil {
		fmt.Fprintf(env.Stdout, "note: %v\n", err)
	}
}

func stats(env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "resolve stats", "resolve stats --log FILE [--since WHEN] [--until WHEN] [--json]")
	var logs cli.Strings
	fs.Var(&logs, "log", "JSON-lines query log; its rotated files (FILE.2026...) are read too (repeatable)")
	since := fs.String("since", "", "only queries from this time: RFC 3339, YYYY-MM-DD, or a duration back from now (72h, 30d)")
	until := fs.String("until", "", "only queries before this time")
	asJSON := fs.Bool("json", false, "write JSON")
	rest, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	logs = append(logs, rest...)
	if len(logs) == 0 {
		fs.Usage()
		return cli.ExitFailure
	}
	var st querylog.Stats
	var err error
	if st.Since, err = when(*since, env.Now()); err != nil {
		return env.Errorf(cli.ExitFailure, "resolve stats: --since: %v", err)
	}
	if st.Until, err = when(*until, env.Now()); err != nil {
		return env.Errorf(cli.ExitFailure, "resolve stats: --until: %v", err)
	}
	for _, l := range logs {
		for _, p := range append(querylog.Rotated(l), l) {
			fh, err := os.Open(p)
			if err != nil {
				return env.Errorf(cli.ExitInput, "resolve stats: %v", err)
			}
			bad, err := querylog.Read(fh, func(r *querylog.Record) error { st.Add(r); return nil })
			fh.Close()
			if err != nil {
				return env.Errorf(cli.ExitInput, "resolve stats: %s: %v", p, err)
			}
			st.Bad += bad
		}
	}
	askers := st.Askers()
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		out := struct {
			Queries int               `json:"queries"`
			Shed    uint64            `json:"shed"`
			Bad     int               `json:"unreadable_lines"`
			Askers  []*querylog.Asker `json:"askers"`
		}{st.Queries, st.Shed, st.Bad, askers}
		if err := enc.Encode(out); err != nil {
			return env.Errorf(cli.ExitFailure, "resolve stats: %v", err)
		}
	} else {
		writeTable(env, &st, askers)
	}
	for _, a := range askers {
		if a.AfterDeadline() {
			return cli.ExitConcern
		}
	}
	return cli.ExitOK
}

func writeTable(env *cli.Env, st *querylog.Stats, askers []*querylog.Asker) {
	fmt.Fprintf(env.Stdout, "%d queries", st.Queries)
	if st.Shed > 0 {
		fmt.Fprintf(env.Stdout, ", %d not logged (shed under overload)", st.Shed)
	}
	if st.Bad > 0 {
		fmt.Fprintf(env.Stdout, ", %d unreadable lines", st.Bad)
	}
	fmt.Fprintln(env.Stdout)
	section := func(title string, after bool) {
		var rows []*querylog.Asker
		for _, a := range askers {
			if a.AfterDeadline() == after {
				rows = append(rows, a)
			}
		}
		fmt.Fprintf(env.Stdout, "\n%s: %d\n", title, len(rows))
		if len(rows) == 0 {
			return
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT\tGROUP\tRULE\tENTITY\tSINCE\tLAST\tDUE\tBLOCKED\tMONITORED\tDEADLINE\tNAMES")
		for _, a := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", a.Client, dash(a.Group), a.Rule, dash(a.Entity),
				a.First.UTC().Format(time.DateTime), a.Last.UTC().Format(time.DateTime), a.Due, a.Blocked, a.Monitored,
				dash(a.Deadline), strings.Join(a.Names, ", "))
		}
		tw.Flush()
	}
	section("Still asking after the deadline", true)
	section("Asked before the deadline or under a monitor rule", false)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// when reads a time: RFC 3339, a date, or a duration back from now.
func when(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if n := len(s); n > 1 && s[n-1] == 'd' {
		var days int
		if _, err := fmt.Sscanf(s[:n-1], "%d", &days); err == nil && days >= 0 {
			return now.Add(-time.Duration(days) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, YYYY-MM-DD) or a duration (72h, 30d)", s)
}

// spareProc runs one scheduler slot (P) more than the CPUs Go would use,
// where the UDP workers batch (Linux), unless GOMAXPROCS is set in the
// environment; a workers count left at 0 becomes that CPU count. A worker
// spends much of its time in recvmmsg and sendmmsg; with no idle P, Go's
// system monitor takes the P of any worker whose call lasts over 20 µs
// and wakes every 20 µs to check (perf under 150,000 q/s: nanosleep 6.6k
// -> 3.7k/s, futex 3.5k -> 0.9k/s with the spare P). Setting GOMAXPROCS
// turns off Go's own updates when a container's CPU limit changes: the
// resolver reads it once at start.
func spareProc(l *resolver.Listen) {
	n := runtime.GOMAXPROCS(0)
	if l.Workers <= 0 {
		l.Workers = n
	}
	if os.Getenv("GOMAXPROCS") == "" && l.Batch && resolver.BatchSupported {
		runtime.GOMAXPROCS(n + 1)
	}
}
