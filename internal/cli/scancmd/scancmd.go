// Package scancmd is `outflow scan`: packet captures (or a live interface)
// to a per-device report of what went to whom.
//
// It must never import another subcommand's package.
package scancmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"runtime"
	"strings"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/ipcontext"
	"github.com/outflow-dev/outflow/internal/outfile"
	"github.com/outflow-dev/outflow/internal/report/scanreport"
	"github.com/outflow-dev/outflow/internal/scan"
	"github.com/outflow-dev/outflow/internal/store"
	"github.com/outflow-dev/outflow/internal/store/backend"
	"github.com/outflow-dev/outflow/internal/store/scanfeed"
)

// Command returns `outflow scan`.
func Command() cli.Command {
	return cli.Command{Name: "scan", Summary: "read packet captures and report, per device, which companies of concern it talked to", Run: Run}
}

const usage = `scan [flags] INPUT...   (pcap, pcapng, Zeek logs (TSV or JSON), Suricata eve.json; - for a capture on standard input)
       scan --interface IFACE [--bpf EXPR] [flags]

exit status: 0 no entity of concern, 3 entities of concern found, 1 usage error, 2 unreadable input`

// Options are scan's flags, for callers such as `outflow demo`.
type Options struct {
	JSON, CSV, All bool
	Output         string
	Local          cli.Strings
	MaxFlows       int
	Interface      string
	BPF            string
	Catalog        cli.CatalogFlags
	NoProgress     bool
	IPDB           cli.Strings
	FlowExports    bool
	Store          string // also write the flows, per hour, to this store
	Again          bool   // store inputs the store has already ingested
	// Workers: 1 scans a capture on one goroutine; 2 or more read and
	// decode, track and attribute at once; 0 (the flag's default) picks
	// (autoWorkers), and pipelines each capture file on its own size.
	Workers int
}

// Run is the command.
func Run(ctx context.Context, env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "scan", usage)
	var o Options
	o.Catalog.Register(fs)
	fs.BoolVar(&o.JSON, "json", false, "write the report as JSON (docs/output.md)")
	fs.BoolVar(&o.CSV, "csv", false, "write one CSV row per device and entity")
	fs.BoolVar(&o.All, "all", false, "also list flows to no entity of concern")
	fs.StringVar(&o.Output, "o", "", "write the report to this file")
	fs.Var(&o.Local, "local", "inside network CIDR (repeatable; default the private ranges)")
	fs.IntVar(&o.MaxFlows, "max-flows", 0, "flow table size (default 200000); bounds memory")
	fs.StringVar(&o.Interface, "interface", "", "capture live on this interface (Linux AF_PACKET; needs CAP_NET_RAW)")
	fs.StringVar(&o.BPF, "bpf", "", "with --interface: a BPF filter expression (compiled with tcpdump -ddd)")
	fs.BoolVar(&o.NoProgress, "no-progress", false, "never draw a progress bar")
	fs.BoolVar(&o.FlowExports, "flow-exports", false, "read NetFlow v5/v9 and IPFIX datagrams in the capture (UDP 2055, 4739, 9995, 9996) as the flows they describe")
	fs.StringVar(&o.Store, "store", "", "also write the flows (summed per device, peer, name, entity and hour) to this store file, for outflow report and serve")
	fs.BoolVar(&o.Again, "again", false, "with --store: store inputs the store already holds a second time (their traffic is then counted twice)")
	fs.IntVar(&o.Workers, "workers", 0, "0: as 2 when the capture files add up to 16 MB or more and there are CPUs to spare, pipelining each file of 16 MB or more, else as 1; 1: scan on one CPU; 2 or more: read, track flows and attribute at once, on up to three CPUs, and write a JSON report's devices while the next are summed, with the same report")
	fs.Var(&o.IPDB, "ip-db", "an ASN or country database (MMDB or @ip-location-db range CSV) for context on addresses; repeatable")
	files, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	if len(files) == 0 && o.Interface == "" {
		fs.Usage()
		return cli.ExitFailure
	}
	if o.JSON && o.CSV {
		return env.Errorf(cli.ExitFailure, "scan: --json and --csv exclude each other")
	}
	if o.Interface != "" && o.FlowExports {
		return env.Errorf(cli.ExitFailure, "scan: --flow-exports reads exports inside capture files; to collect exports live run outflow sensor --flow-listen ADDR")
	}
	return Scan(ctx, env, o, files)
}

// Scan runs a scan with options.
func Scan(ctx context.Context, env *cli.Env, o Options, files []string) int {
	ix, err := o.Catalog.Open(env)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "catalog: %v", err)
	}
	cfg := scan.DefaultConfig()
	cfg.All = o.All
	cfg.FlowExports = o.FlowExports
	if len(o.Local) > 0 {
		cfg.Flow.Local = nil
		for _, l := range o.Local {
			p, err := netip.ParsePrefix(l)
			if err != nil {
				return env.Errorf(cli.ExitFailure, "scan: --local %q: %v", l, err)
			}
			cfg.Flow.Local = append(cfg.Flow.Local, p.Masked())
		}
	}
	if o.MaxFlows > 0 {
		cfg.Flow.MaxFlows = o.MaxFlows
	}
	cfg.Flow.Interesting = func(n string) bool { return ix.LookupDomain(n) != nil }
	at := attribute.New(ix)
	if len(o.IPDB) > 0 {
		db, err := ipcontext.Open(o.IPDB...)
		if err != nil {
			return env.Errorf(cli.ExitInput, "scan: --ip-db: %v", err)
		}
		defer db.Close()
		cfg.Context = func(a netip.Addr) string { return db.Lookup(a).String() }
	}
	var total int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			total += st.Size()
		}
	}
	cfg.Workers = o.Workers
	if cfg.Workers <= 0 {
		cfg.Workers = autoWorkers(total, runtime.GOMAXPROCS(0))
		// and each capture pipelined on its own size: of many small
		// files, each is read on one goroutine
		cfg.PipelineMin = autoPipelineMin
	}
	bar := newProgress(env.Stderr, total, o.NoProgress)
	var done int64
	cfg.Progress = func(read int64, packets uint64) { bar.update(done+read, packets) }
	var feed *scanfeed.Feed
	var ing store.Ingest
	if o.Store != "" {
		st, err := backend.Open(ctx, storeConfig(o.Store), env.Log)
		if err != nil {
			return env.Errorf(cli.ExitFailure, "scan: --store: %v", err)
		}
		defer st.Close()
		source := strings.Join(files, ",")
		var w store.Writer = st
		if o.Interface != "" {
			// a live capture has no end to wait for: its batches are
			// stored as they come
			source = "live:" + o.Interface
		} else if ig, ok := st.(store.Ingester); ok {
			if ing, err = ig.BeginIngest(ctx, fingerprints(files), o.Again); err != nil {
				if errors.As(err, new(*store.IngestedError)) {
					return env.Errorf(cli.ExitFailure, "scan: --store %s: %v (give --again to store it anyway)", o.Store, err)
				}
				return env.Errorf(cli.ExitFailure, "scan: --store: %v", err)
			}
			defer ing.Close() // before st.Close: an ingest holds the writer
			w = ing
		}
		feed = scanfeed.New(ctx, w, source)
		cfg.OnFlow = feed.Flow
	}
	if o.Interface != "" {
		// a live capture has no end: its devices' flows spilled to a
		// file would grow it for as long as it runs, so every device
		// keeps its sums in memory, as the flow table bounds them
		cfg.MaxDevices = math.MaxInt
	}
	s := scan.New(cfg, at)
	if o.Interface == "" {
		defer startHeapBudget(heapBudget)()
	}
	failed := false
	if o.Interface != "" {
		if err := captureLive(ctx, env, s, o); err != nil {
			fmt.Fprintf(env.Stderr, "outflow: scan: %v\n", err)
			failed = true
		}
	}
	for _, f := range scan.OrderInputs(files) {
		err := s.ReadAny(ctx, f)
		if st, e := os.Stat(f); e == nil {
			done += st.Size()
		}
		if err != nil {
			failed = true
			fmt.Fprintf(env.Stderr, "outflow: scan: %v\n", err)
			if errors.Is(err, context.Canceled) {
				break
			}
		}
	}
	bar.finish()
	var rep *scan.Report
	if feed != nil {
		rep = s.Finish(env.Now()) // the feed stores every device
	} else {
		rep = s.FinishStream(env.Now()) // each device built as it is written
		defer s.Close()
	}
	if feed != nil {
		_, err := feed.Close(rep)
		if err == nil && ing != nil {
			if ctx.Err() != nil {
				// an interrupted scan stores nothing: a re-run counts
				// the inputs once
				err = fmt.Errorf("interrupted: nothing stored in %s", o.Store)
				ing.Close()
			} else {
				err = ing.Commit(ctx)
			}
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "outflow: scan: --store: %v\n", err)
			failed = true
		}
	}
	w := env.Stdout
	var fh *outfile.File
	if o.Output != "" {
		// a regular file is replaced atomically, a device written in place
		if fh, err = outfile.Create(o.Output); err != nil {
			return env.Errorf(cli.ExitFailure, "scan: %v", err)
		}
		defer fh.Abort()
		w = fh
	}
	bw := bufio.NewWriter(w)
	switch {
	case o.JSON && cfg.Workers > 1:
		err = scanreport.JSONConcurrent(bw, rep)
	case o.JSON:
		err = scanreport.JSON(bw, rep)
	case o.CSV:
		err = scanreport.CSV(bw, rep)
	default:
		err = scanreport.Text(bw, rep, o.All)
	}
	if err == nil {
		err = bw.Flush()
	}
	if fh != nil && err == nil {
		err = fh.Commit()
	}
	if err != nil {
		return env.Errorf(cli.ExitFailure, "scan: writing the report: %v", err)
	}
	switch {
	case failed:
		return cli.ExitInput
	case rep.Concern():
		return cli.ExitConcern
	}
	return cli.ExitOK
}

// autoWorkers is --workers 0, the default: a pipeline of goroutines only
// pays for its batches and hand-offs on captures of some size (a
// one-packet capture starts in milliseconds), and only with a second
// CPU. It costs 7-20 % more CPU-seconds for 0.65-0.8 of the wall on a
// large capture (docs/benchmarks.md, "Across cores"); --workers 1 keeps
// a scan to one CPU.
func autoWorkers(inputBytes int64, cpus int) int {
	if cpus < 2 || inputBytes < autoPipelineMin {
		return 1
	}
	return cpus
}

// autoPipelineMin is the size of input from which --workers 0 uses more
// than one goroutine, and of a capture file that it pipelines (standard
// input, of unknown size, counts for nothing). The 26 shared captures
// (4.5 MB) in one scan took 1.15-1.21 times the wall pipelined file by
// file, and a 10.6 MB capture 1.02-1.07 (docs/benchmarks.md, "Across
// cores").
const autoPipelineMin = 16 << 20

// fingerprints identifies the input files for the store, so that it can
// refuse one it already holds. Standard input, fifos and devices are
// streams with no fingerprint: their rows are stored, atomically, but
// not remembered; an unreadable file is left to the scan to report.
func fingerprints(files []string) []store.Input {
	var ins []store.Input
	for _, f := range files {
		if f == "-" {
			continue
		}
		if in, err := store.Fingerprint(f); err == nil {
			ins = append(ins, in)
		}
	}
	return ins
}

// storeConfig is the store configuration for --store PATH: the defaults
// (retention and size bounds) at that path.
func storeConfig(path string) store.Config {
	c := store.DefaultConfig()
	c.Path = path
	return c
}
