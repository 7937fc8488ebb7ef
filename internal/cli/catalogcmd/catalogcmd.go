// Package catalogcmd is `outflow catalog`: check, show, lists, lookup,
// export and gen-prefixes over the built-in catalog and a user's own
// catalog directories.
//
// It must never import another subcommand's package.
package catalogcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/ipcontext"
	"github.com/outflow-dev/outflow/internal/render"
)

// Command returns `outflow catalog`.
func Command() cli.Command {
	return cli.Command{Name: "catalog", Summary: "check, show, look up and export the catalog of entities", Run: run}
}

const usage = `catalog SUBCOMMAND

subcommands:
  check                      validate the catalog (built-in and --catalog-dir) and that the compiled
                             built-in catalog matches its text files; exit 1 on any error
  show ID...                 an entity: owners, lists, assets
  lists                      the official lists and their entries
  lookup INDICATOR...        attribute hostnames, addresses, AS numbers, MACs, app ids, classes
  export --format F          a blocklist (hosts, rpz, adguard, dnsmasq, unbound) or an enforcement list
                             (nftables, ipset, edl-ip, edl-domain, suricata, zeek-intel, stix)
  gen-prefixes --asn-db DIR  regenerate assets/asn-prefixes.csv from @ip-location-db/asn`

func run(ctx context.Context, env *cli.Env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(env.Stderr, "usage: outflow "+usage)
		if len(args) == 0 {
			return cli.ExitFailure
		}
		return cli.ExitOK
	}
	switch args[0] {
	case "check":
		return check(env, args[1:])
	case "show":
		return show(env, args[1:])
	case "lists":
		return lists(env, args[1:])
	case "lookup":
		return lookup(env, args[1:])
	case "export":
		return export(env, args[1:])
	case "gen-prefixes":
		return genPrefixes(env, args[1:])
	}
	return env.Errorf(cli.ExitFailure, "catalog: unknown subcommand %q\nusage: outflow %s", args[0], usage)
}

func check(env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "catalog check", "catalog check [--catalog-dir DIR]")
	var cf cli.CatalogFlags
	cf.Register(fs)
	if _, code, ok := cli.Parse(fs, args); !ok {
		return code
	}
	ix, err := cf.Open(env)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		if ps, ok := err.(catalog.Problems); ok {
			fmt.Fprintf(env.Stderr, "catalog check: %d problems\n", len(ps))
		}
		return cli.ExitFailure
	}
	if err := ix.Check(); err != nil {
		fmt.Fprintln(env.Stderr, err)
		return cli.ExitFailure
	}
	// The compiled form embedded in the binary must say what the text
	// files say.
	if err := catalog.VerifyBuiltin(); err != nil {
		fmt.Fprintln(env.Stderr, err)
		return cli.ExitFailure
	}
	all := ix.AllAssets()
	counts := map[catalog.AssetKind]int{}
	unverified := 0
	for _, a := range all {
		counts[a.Kind]++
		if a.Status == catalog.Unverified {
			unverified++
		}
	}
	var kinds []string
	for k, n := range counts {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	fmt.Fprintf(env.Stdout, "catalog ok: %d entities, %d lists, %d sources, %d assets (%s), %d dns services, %d unverified\n",
		len(ix.Entities), len(ix.Lists), len(ix.Sources), len(all), strings.Join(kinds, ", "), len(ix.DNSServices), unverified)
	return cli.ExitOK
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// lookupResult is one indicator's answer in --json.
type lookupResult struct {
	Indicator string `json:"indicator"`
	ReadAs    string `json:"read_as"`
	Found     bool   `json:"found"`
	attribute.Summary
	Context *ipcontext.Context `json:"context,omitempty"` // from --ip-db: never the basis of the attribution
}

func lookup(env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "catalog lookup", "catalog lookup [--json] INDICATOR...")
	var cf cli.CatalogFlags
	cf.Register(fs)
	asJSON := fs.Bool("json", false, "one JSON object per indicator, one per line")
	var ipdbs cli.Strings
	fs.Var(&ipdbs, "ip-db", "an ASN or country database for context on addresses (MMDB, or @ip-location-db range CSV; repeatable)")
	rest, code, ok := cli.Parse(fs, args)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		fs.Usage()
		return cli.ExitFailure
	}
	ix, err := cf.Open(env)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "catalog: %v", err)
	}
	at := attribute.New(ix)
	var ctxDB *ipcontext.DB
	if len(ipdbs) > 0 {
		if ctxDB, err = ipcontext.Open(ipdbs...); err != nil {
			return env.Errorf(cli.ExitInput, "catalog lookup: --ip-db: %v", err)
		}
		defer ctxDB.Close()
	}
	for _, ind := range rest {
		a, kind := at.Lookup(ind)
		var ctx *ipcontext.Context
		if ip, err := netip.ParseAddr(strings.TrimPrefix(ind, "ip:")); err == nil && ctxDB != nil {
			c := ctxDB.Lookup(ip)
			ctx = &c
		}
		if *asJSON {
			r := lookupResult{Indicator: ind, ReadAs: kind, Found: a.Found(), Summary: attribute.Summarize(a), Context: ctx}
			if !r.Found {
				r.OwnerChain, r.Lists = []string{}, []attribute.ListRef{}
			}
			enc := json.NewEncoder(env.Stdout)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(r); err != nil {
				return env.Errorf(cli.ExitFailure, "%v", err)
			}
			continue
		}
		printAttribution(env.Stdout, ind, kind, a)
		if ctx != nil && *ctx != (ipcontext.Context{}) {
			fmt.Fprintf(env.Stdout, "  context     %s (from --ip-db; context only, not an attribution)\n", ctx)
		}
		fmt.Fprintln(env.Stdout)
	}
	return cli.ExitOK
}

func printAttribution(w io.Writer, ind, kind string, a attribute.Attribution) {
	if !a.Found() {
		fmt.Fprintf(w, "%s (%s): no catalogued entity\n", ind, kind)
		return
	}
	s := attribute.Summarize(a)
	e := a.Entity
	fmt.Fprintf(w, "%s (%s)\n", ind, kind)
	fmt.Fprintf(w, "  entity      %s: %s\n", e.ID, render.Entity(e.ID, e.Name, s.Jurisdiction, s.Controlling))
	fmt.Fprintf(w, "  owner chain %s\n", strings.Join(s.OwnerChain, " < "))
	if len(s.Minority) > 0 {
		var ms []string
		for _, m := range e.Minority {
			ms = append(ms, fmt.Sprintf("%s %.1f%%", m.ID, m.Share))
		}
		fmt.Fprintf(w, "  minority    %s (not in the owner chain)\n", strings.Join(ms, ", "))
	}
	fmt.Fprintf(w, "  role        %s\n", roleText(a.Role, e))
	if len(s.Lists) == 0 {
		fmt.Fprintf(w, "  lists       none\n")
	}
	for i, l := range s.Lists {
		label := "  lists      "
		if i > 0 {
			label = "             "
		}
		via := ""
		if l.Via != e.ID {
			via = " via " + l.Via
		}
		added := ""
		if l.Added != "" {
			added = " since " + l.Added
		}
		unv := ""
		if l.Status == string(catalog.Unverified) {
			unv = " [UNVERIFIED]"
		}
		fmt.Fprintf(w, "%s %s: %s%s%s%s\n", label, l.ID, l.Name, added, via, unv)
	}
	unv := ""
	if s.Unverified {
		unv = " [UNVERIFIED]"
	}
	fmt.Fprintf(w, "  evidence    %s %q matched %s (%s)%s\n", a.Kind, s.Evidence.Value, s.Evidence.Rule, s.Evidence.At, unv)
	fmt.Fprintf(w, "  source      %s: %s, %s", s.Source.ID, s.Source.Title, s.Source.Date)
	if s.Source.URL != "" {
		fmt.Fprintf(w, " <%s>", s.Source.URL)
	}
	fmt.Fprintf(w, "; fact as of %s\n", s.Evidence.AsOf)
	fmt.Fprintf(w, "  confidence  %s\n", a.Confidence)
}

func roleText(r catalog.Role, e *catalog.Entity) string {
	switch r {
	case catalog.RoleHost:
		return "host: the address is hosted by " + e.Name + ", which says nothing of whose app it is"
	case catalog.RoleChip:
		return "chip-maker: a component by " + e.Name + "; it says nothing of the device's owner or where its data goes"
	case catalog.RoleCarrier:
		return "carrier: traffic carried by " + e.Name
	case catalog.RoleDevice:
		return "device-maker: hardware made by " + e.Name
	case catalog.RoleSDK:
		return "sdk-owner: code by " + e.Name + " embedded in an app"
	}
	return string(r)
}
