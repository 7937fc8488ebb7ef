// Package sensorcmd is `outflow sensor`: one long-running process that
// watches the network from every source at once — live interfaces, NetFlow
// v5/v9, IPFIX and sFlow v5 exporters over UDP, growing Zeek, Suricata EVE and query
// logs — and feeds the store every --flush,
// per device (keyed by site and address), peer, name, entity and hour.
// SIGTERM and SIGINT flush and exit 0; SIGHUP reloads the catalog and the
// policy. docs/sensor.md is its manual.
//
// It must never import another subcommand's package.
package sensorcmd

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/outflow-dev/outflow/internal/alert"
	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/capture/flow"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/collector"
	"github.com/outflow-dev/outflow/internal/flowrec"
	"github.com/outflow-dev/outflow/internal/policy"
	"github.com/outflow-dev/outflow/internal/sensor"
	"github.com/outflow-dev/outflow/internal/sensor/alertfeed"
	"github.com/outflow-dev/outflow/internal/sensor/followsrc"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
	"github.com/outflow-dev/outflow/internal/store/policysync"
	"github.com/outflow-dev/outflow/internal/store/scanfeed"
)

// Command returns `outflow sensor`.
func Command() cli.Command {
	return cli.Command{Name: "sensor", Summary: "watch interfaces and flow exporters all the time and feed the store", Run: Run}
}

const usage = `sensor --store STORE [--flow-listen ADDR]... [--interface IF]... [--site NAME] [--config FILE] [--metrics ADDR] [flags]

Runs until SIGTERM or SIGINT, which flush the last interval and exit 0;
SIGHUP reloads the catalog and the policy; a changed policy file (as the
dashboard saves it) is reloaded within 5 seconds without one. Alerts (first contact with an
entity of concern; with --policy, traffic past a rule's deadline or that the
device's group blocks) are kept in the store and sent to the webhooks, syslog
servers and files of --config's alerts section. Sources, any mix, each repeatable:
  --flow-listen ADDR   a UDP flow collector: NetFlow v5/v9, IPFIX, sFlow v5 (e.g. 0.0.0.0:2055)
  --interface IF       live capture (Linux AF_PACKET; needs CAP_NET_RAW), with --bpf
  --follow [KIND:]FILE a growing Zeek log, Suricata eve.json or outflow query log
                       (KIND zeek, eve or querylog; told from the content if
                       omitted), followed across rotation; read offsets are kept
                       in --state-dir and committed after each flush
A device is keyed by site and address: with a site, the store names it
SITE/ADDRESS. An exporter's site is its --config entry, else --site, else
the exporter's address; an interface's is its entry, else --site.
See docs/sensor.md.`

type options struct {
	store, site, config, metrics, bpf, policy string
	stateDir, memLimit                        string
	flush                                     time.Duration
	pprof, fromStore                          bool
	listen, ifaces, follow, local             cli.Strings
	catalog                                   cli.CatalogFlags
}

// Run is the command.
func Run(ctx context.Context, env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "sensor", usage)
	var o options
	o.catalog.Register(fs)
	fs.StringVar(&o.store, "store", "", "the store file to feed (required)")
	fs.Var(&o.listen, "flow-listen", "receive NetFlow/IPFIX/sFlow on this UDP address (repeatable)")
	fs.Var(&o.ifaces, "interface", "capture live on this interface (repeatable)")
	fs.Var(&o.follow, "follow", "follow a growing Zeek log, eve.json or query log, as [KIND:]FILE (repeatable)")
	fs.StringVar(&o.stateDir, "state-dir", "", "where --follow keeps its read offsets (default: STORE.follow beside a store file)")
	fs.StringVar(&o.site, "site", "", "the site of the sources the config does not place")
	fs.StringVar(&o.config, "config", "", "YAML configuration (docs/sensor.md); flags add to or override it")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus /metrics and /healthz on this address (e.g. 127.0.0.1:9108)")
	fs.BoolVar(&o.pprof, "pprof", false, "also serve Go's /debug/pprof/ on the --metrics address (profiling; keep that address private)")
	fs.StringVar(&o.bpf, "bpf", "", "BPF filter for every --interface (compiled with tcpdump -ddd)")
	fs.DurationVar(&o.flush, "flush", 0, "how often the sums go to the store (default 10s)")
	fs.StringVar(&o.policy, "policy", "", "policy file for past-deadline and group-blocked alerts, reloaded on SIGHUP")
	fs.BoolVar(&o.fromStore, "policy-from-store", false, "keep --policy FILE equal to the latest policy saved through the dashboard in --store (polled every 5s; validated, written atomically, reloaded)")
	fs.StringVar(&o.memLimit, "memory-limit", "", "soft limit on the Go runtime's memory (e.g. 96MiB): auto (the default) derives it from what the sensor may hold, off leaves Go's default; GOMEMLIMIT wins")
	fs.Var(&o.local, "local", "inside network CIDR (repeatable; default the private ranges)")
	rest, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return env.Errorf(cli.ExitFailure, "sensor: unexpected argument %q (sources are flags: --flow-listen, --interface)", rest[0])
	}
	fc := fileConfig{Alerts: alert.DefaultConfig()}
	if o.config != "" {
		var err error
		if fc, err = loadConfig(o.config); err != nil {
			return env.Errorf(cli.ExitFailure, "sensor: --config: %v", err)
		}
	}
	merge(&fc, &o)
	if fc.Store == "" {
		return env.Errorf(cli.ExitFailure, "sensor: --store is required")
	}
	if len(fc.FlowListen) == 0 && len(fc.Interfaces) == 0 && len(fc.Follow) == 0 {
		return env.Errorf(cli.ExitFailure, "sensor: no source: give --flow-listen, --interface or --follow")
	}
	var follows []followsrc.File
	for _, v := range fc.Follow {
		f, err := followsrc.ParseFile(v, fc.Site)
		if err != nil {
			return env.Errorf(cli.ExitFailure, "sensor: --follow: %v", err)
		}
		follows = append(follows, f)
	}
	if len(follows) > 0 && fc.StateDir == "" {
		if strings.Contains(fc.Store, "://") {
			return env.Errorf(cli.ExitFailure, "sensor: --follow with a %s store needs --state-dir for its read offsets", fc.Store[:strings.Index(fc.Store, "://")])
		}
		fc.StateDir = fc.Store + ".follow"
	}
	local := flowrec.DefaultLocal()
	if len(fc.Local) > 0 {
		local = nil
		for _, l := range fc.Local {
			p, err := netip.ParsePrefix(l)
			if err != nil {
				return env.Errorf(cli.ExitFailure, "sensor: --local %q: %v", l, err)
			}
			local = append(local, p.Masked())
		}
	}
	if fc.PolicyFromStore && fc.Policy == "" {
		return env.Errorf(cli.ExitFailure, "sensor: --policy-from-store needs --policy FILE to keep the store's policy in")
	}
	ix, err := o.catalog.Open(env)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "sensor: catalog: %v", err)
	}
	var at atomic.Pointer[attribute.Attributor]
	at.Store(attribute.New(ix))
	var cat atomic.Pointer[catalog.Index]
	cat.Store(ix)

	scfg := store.DefaultConfig()
	scfg.Path = fc.Store
	// the sensor writes and hardly reads: a small page cache per SQLite
	// connection keeps its resident memory bounded by the flow sums
	scfg.CacheMB = sensorCacheMB
	st, err := backend.Open(ctx, scfg, env.Log)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "sensor: --store: %v", err)
	}
	defer st.Close()
	var pol atomic.Pointer[policy.Policy]
	var syncer *policysync.Syncer
	if fc.PolicyFromStore {
		pl, ok := st.(store.PolicyLog)
		if !ok {
			return env.Errorf(cli.ExitFailure, "sensor: --policy-from-store: this store keeps no policy history")
		}
		sc := policysync.DefaultConfig()
		sc.Path = fc.Policy
		syncer = policysync.New(sc, policysync.Deps{Log: env.Log, Store: pl,
			Validate: func(path string, b []byte) error {
				ix := cat.Load()
				p, err := policy.ParseWith(path, b, policy.Options{Catalog: ix})
				if err == nil {
					err = p.Check(ix)
				}
				return err
			},
			Changed: func() { reloadPolicy(env.Log, fc.Policy, &pol) }})
		// Before the policy is loaded: a new machine starts on the
		// store's policy, one that cannot reach the store on its file.
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		syncer.SyncLogged(sctx)
		cancel()
	}
	if fc.Policy != "" {
		p, err := policy.Load(fc.Policy)
		if err != nil {
			return env.Errorf(cli.ExitFailure, "sensor: --policy: %v", err)
		}
		pol.Store(p)
	}

	cfg := sensor.DefaultConfig()
	cfg.Local = local
	if fc.Flush > 0 {
		cfg.Flush = fc.Flush
	}
	if lim, err := memoryLimit(fc.MemoryLimit, cfg.MaxRows, len(fc.Interfaces), flow.DefaultConfig().MaxFlows); err != nil {
		return env.Errorf(cli.ExitFailure, "sensor: %v", err)
	} else if lim > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(lim)
		env.Log.Info("sensor: soft memory limit", "limit", cli.FormatSize(lim))
	}
	// alerts: kept in the store when its backend keeps them, and sent to
	// the sinks of --config's alerts section
	var sinks []alert.Sink
	if as, ok := st.(store.Alerts); ok {
		sinks = append(sinks, alertfeed.StoreSink{W: as})
	} else {
		env.Log.Warn("sensor: this store backend keeps no alerts; they go to the configured sinks only", "store", fc.Store)
	}
	notifier, err := alert.New(fc.Alerts, alert.Deps{Log: env.Log, Sinks: sinks})
	if err != nil {
		return env.Errorf(cli.ExitFailure, "sensor: alerts: %v", err)
	}
	if err := notifier.Start(context.WithoutCancel(ctx)); err != nil {
		return env.Errorf(cli.ExitFailure, "sensor: alerts: %v", err)
	}
	defer notifier.Close() // after the last flush: its alerts still go out
	det := alertfeed.New(alertfeed.DefaultConfig(), alertfeed.Deps{Raise: notifier.Raise, Policy: &pol})
	// a pair the store has already seen is no first contact after a restart
	if n, err := det.Seed(ctx, st, time.Now()); err != nil {
		env.Log.Warn("sensor: could not read past device-entity pairs; first contacts may repeat ones the store has", "err", err)
	} else {
		env.Log.Info("sensor: first contacts seeded from the store", "pairs", n)
	}
	sen := sensor.New(cfg, sensor.Deps{Log: env.Log, Store: st, Attributor: &at, Source: "sensor",
		OnConcern: det.Concern, OnBypass: det.Bypass, Vendor: func(mac net.HardwareAddr) string {
			if v := at.Load().MAC(mac); v.Found() {
				return v.Entity.Name // as scan --store names it
			}
			return ""
		}})
	// the sensor's loop ends with Close, not with ctx: the last flush
	// comes after the sources stop
	if err := sen.Start(context.WithoutCancel(ctx)); err != nil {
		return env.Errorf(cli.ExitFailure, "sensor: %v", err)
	}
	gatherers := prometheus.Gatherers{sen.Registry(), notifier.Registry(), det.Registry()}

	srcCtx, stopSources := context.WithCancel(ctx)
	defer stopSources()
	fcfg := flow.DefaultConfig()
	fcfg.Local = local
	fcfg.Interesting = func(n string) bool { return ix.LookupDomain(n) != nil }
	var col *collector.Collector
	var smp *sampled
	if len(fc.FlowListen) > 0 {
		ccfg := collector.DefaultConfig()
		ccfg.Listen = fc.FlowListen
		ccfg.Decoder.Site = exporterSite(fc.Exporters, fc.Site)
		// sFlow's sampled headers go to packet trackers, one per site
		smp = newSampled(fcfg, sen)
		col = collector.New(ccfg, collector.Deps{Log: env.Log, Sink: sen.Flow, Packet: smp.Packet})
		if err := col.Start(srcCtx); err != nil {
			sen.Close()
			return env.Errorf(cli.ExitFailure, "sensor: %v", err)
		}
		for _, a := range col.Addrs() {
			fmt.Fprintf(env.Stderr, "outflow sensor: flow collector on udp %s\n", a)
		}
		gatherers = append(gatherers, col.Registry(), smp.reg)
	}
	var fsrc *followsrc.Source
	if len(follows) > 0 {
		cfg := followsrc.DefaultConfig()
		cfg.Files, cfg.Local, cfg.Follow.StateDir = follows, local, fc.StateDir
		fsrc, err = followsrc.New(cfg, followsrc.Deps{Log: env.Log, Sensor: sen, Entity: func(id string) (store.Entity, bool) {
			if e := cat.Load().Entities[id]; e != nil {
				return scanfeed.EntityOf(e), true
			}
			return store.Entity{}, false
		}})
		if err == nil {
			err = fsrc.Start(srcCtx)
		}
		if err != nil {
			stopAll(col, smp, nil, nil, sen)
			return env.Errorf(cli.ExitFailure, "sensor: --follow: %v", err)
		}
		for _, f := range follows {
			fmt.Fprintf(env.Stderr, "outflow sensor: following %s\n", f.Path)
		}
		gatherers = append(gatherers, fsrc.Registry())
	}
	var caps []*capture
	for _, ic := range fc.Interfaces {
		c, err := startCapture(srcCtx, ic, fcfg, sen)
		if err != nil {
			stopAll(col, smp, fsrc, caps, sen)
			return env.Errorf(cli.ExitFailure, "sensor: %v", err)
		}
		caps = append(caps, c)
		fmt.Fprintf(env.Stderr, "outflow sensor: capturing on %s\n", ic.Name)
	}
	var srv *http.Server
	if fc.Metrics != "" {
		ln, err := net.Listen("tcp", fc.Metrics)
		if err != nil {
			stopAll(col, smp, fsrc, caps, sen)
			return env.Errorf(cli.ExitFailure, "sensor: --metrics %s: %v", fc.Metrics, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		if fc.Pprof {
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		}
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		fmt.Fprintf(env.Stderr, "outflow sensor: metrics on http://%s/metrics\n", ln.Addr())
	}

	if syncer != nil {
		done := make(chan struct{})
		go func() { defer close(done); syncer.Run(srcCtx) }()
		defer func() { stopSources(); <-done }() // before the store closes
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var polTick <-chan time.Time
	var pw *policyWatch
	if fc.Policy != "" {
		pw = newPolicyWatch(fc.Policy)
		t := time.NewTicker(policyWatchEvery)
		defer t.Stop()
		polTick = t.C
	}
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case <-hup:
			reload(env, &o, fc.Policy, &at, &cat, &pol)
		case <-polTick:
			if pw.changed() {
				reloadPolicy(env.Log, fc.Policy, &pol)
			}
		}
	}
	// SIGTERM/SIGINT: stop the sources, write the last interval, exit 0
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		srv.Shutdown(sctx)
		cancel()
	}
	stopSources()
	if err := stopAll(col, smp, fsrc, caps, sen); err != nil {
		return env.Errorf(cli.ExitFailure, "sensor: last flush: %v", err)
	}
	if col != nil {
		s := col.Stats()
		fmt.Fprintf(env.Stderr, "outflow sensor: stopped; %d export datagrams, %d records, %d decode errors, %d data sets without template dropped\n",
			s.Datagrams, s.Records, s.Errors, s.Dropped)
		if sf := col.SFlowStats(); sf.Datagrams > 0 {
			fmt.Fprintf(env.Stderr, "outflow sensor: sFlow: %d datagrams, %d flow samples, %d sampled headers, %d counter samples, %d decode errors\n",
				sf.Datagrams, sf.Samples, sf.Headers, sf.Counters, sf.Errors)
		}
	}
	return cli.ExitOK
}

// stopAll stops the sources, writes the last interval, then saves the
// followed files' offsets that interval committed.
func stopAll(col *collector.Collector, smp *sampled, fsrc *followsrc.Source, caps []*capture, sen *sensor.Sensor) error {
	if col != nil {
		col.Close()
	}
	if smp != nil {
		smp.Close() // after the collector: nothing arrives past this
	}
	if fsrc != nil {
		fsrc.Stop()
	}
	for _, c := range caps {
		c.Close()
	}
	err := sen.Close()
	if fsrc != nil {
		if ferr := fsrc.Close(); ferr != nil && err == nil {
			err = fmt.Errorf("--follow: saving offsets: %w", ferr)
		}
	}
	return err
}

// reload loads the catalog and the policy again; a broken one keeps the
// old in force.
func reload(env *cli.Env, o *options, policyPath string, at *atomic.Pointer[attribute.Attributor], cat *atomic.Pointer[catalog.Index],
	pol *atomic.Pointer[policy.Policy]) {
	var p *policy.Policy
	if policyPath != "" {
		var err error
		if p, err = policy.Load(policyPath); err != nil {
			env.Log.Error("sensor: SIGHUP: policy not reloaded; the old one stays", "err", err)
			return
		}
	}
	ix, err := o.catalog.Open(env)
	if err != nil {
		env.Log.Error("sensor: SIGHUP: catalog not reloaded; the old one stays", "err", err)
		return
	}
	at.Store(attribute.New(ix))
	cat.Store(ix)
	if p != nil {
		pol.Store(p)
	}
	env.Log.Info("sensor: catalog and policy reloaded", "entities", len(ix.Entities))
}

// merge lays the flags over the file's configuration.
func merge(fc *fileConfig, o *options) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&fc.Store, o.store)
	set(&fc.Site, o.site)
	set(&fc.Metrics, o.metrics)
	set(&fc.Policy, o.policy)
	set(&fc.StateDir, o.stateDir)
	set(&fc.MemoryLimit, o.memLimit)
	fc.Pprof = fc.Pprof || o.pprof
	fc.PolicyFromStore = fc.PolicyFromStore || o.fromStore
	if o.flush > 0 {
		fc.Flush = o.flush
	}
	fc.FlowListen = append(fc.FlowListen, o.listen...)
	fc.Follow = append(fc.Follow, o.follow...)
	fc.Local = append(fc.Local, o.local...)
	for _, i := range o.ifaces {
		fc.Interfaces = append(fc.Interfaces, ifaceConfig{Name: i, BPF: o.bpf})
	}
	for i := range fc.Interfaces {
		if fc.Interfaces[i].Site == "" {
			fc.Interfaces[i].Site = fc.Site
		}
		if fc.Interfaces[i].BPF == "" {
			fc.Interfaces[i].BPF = o.bpf
		}
	}
}

// memoryLimit is the soft limit on the Go runtime's memory that spec
// asks for: a size, "off" (0: Go's default, the heap may grow to twice
// what is live) or "auto"/"" (derived). The derived limit is what the
// sensor is built to hold: 24 MiB (runtime, catalog, the store writer's
// and the alerts' state), 128 bytes for each summed row of one interval
// (80 for the row, the rest its index and the writer's sums; the
// interval being written hands its rows to the next as they are stored),
// 256 bytes for each flow of each interface's flow table. With 200,000
// rows an interval the live heap peaks at about 30 MB of the 54.5 MiB
// this gives (docs/benchmarks.md, "Sensor"). It is soft: past it the
// garbage collector runs more often (at most half the CPU), nothing is
// refused or dropped.
func memoryLimit(spec string, rows, ifaces, flows int) (int64, error) {
	switch spec {
	case "", "auto":
		return 24<<20 + 128*int64(rows) + 256*int64(ifaces)*int64(flows), nil
	case "off", "0":
		return 0, nil
	}
	return cli.ParseSize("--memory-limit", spec)
}

// sensorCacheMB is the SQLite page cache per connection of the sensor's
// store, in MiB (the default, 64, is for the dashboard's reads): the
// sensor writes and hardly reads, and each connection's cache stays
// resident once filled. SQLite's own default is 2 MiB; 8 held 11 MB more
// at the peak of bench/sensor/run.sh (200,000 flows an interval) for no
// CPU saved (docs/benchmarks.md, "Sensor").
const sensorCacheMB = 2
