package catalogcmd

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/catalog/asngen"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/export/blocklist"
	"github.com/outflow-dev/outflow/internal/export/edl"
	"github.com/outflow-dev/outflow/internal/export/indicator"
	"github.com/outflow-dev/outflow/internal/export/ipset"
	"github.com/outflow-dev/outflow/internal/export/nftables"
	"github.com/outflow-dev/outflow/internal/export/stix"
	"github.com/outflow-dev/outflow/internal/export/suricata"
	"github.com/outflow-dev/outflow/internal/export/zeekintel"
	"github.com/outflow-dev/outflow/internal/outfile"
)

// enforcement are the export formats for firewalls, IDS and threat-intel
// platforms, beside the DNS blocklists of package blocklist.
var enforcement = []string{"nftables", "ipset", "edl-ip", "edl-domain", "suricata", "zeek-intel", "stix"}

// wantsAddrs says whether a format takes address prefixes.
var wantsAddrs = map[string]bool{"nftables": true, "ipset": true, "edl-ip": true, "zeek-intel": true, "stix": true}

// wantsNames says whether a format takes names.
func wantsNames(f string) bool { return f != "nftables" && f != "ipset" && f != "edl-ip" }

func export(env *cli.Env, args []string) int {
	formats := append(append([]string{}, blocklist.Formats...), enforcement...)
	fs := cli.NewFlags(env, "catalog export", "catalog export --format "+strings.Join(formats, "|")+" [--entity ID]... [--list ID]... [--include-hosts] [-o FILE]")
	var cf cli.CatalogFlags
	cf.Register(fs)
	format := fs.String("format", "adguard", "output format: "+strings.Join(formats, ", "))
	var entities, lists cli.Strings
	fs.Var(&entities, "entity", "entity whose names (and its subsidiaries') to export (repeatable)")
	fs.Var(&lists, "list", "export the names of every entity on this official list (repeatable)")
	hosts := fs.Bool("include-hosts", false, "also export names and prefixes of cloud, CDN and carrier networks that serve others (blocks customers' sites too)")
	out := fs.String("o", "", "write to this file instead of standard output")
	if _, code, ok := cli.Parse(fs, args); !ok {
		return code
	}
	if !slices.Contains(formats, *format) {
		return env.Errorf(cli.ExitFailure, "catalog export: unknown format %q; valid formats: %s", *format, strings.Join(formats, ", "))
	}
	ix, err := cf.Open(env)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "catalog: %v", err)
	}
	for _, id := range entities {
		if ix.Entities[id] == nil {
			return env.Errorf(cli.ExitFailure, "catalog export: no entity %q; valid entities: %s", id, strings.Join(sortedKeys(ix.Entities), ", "))
		}
	}
	for _, id := range lists {
		if ix.Lists[id] == nil {
			return env.Errorf(cli.ExitFailure, "catalog export: no list %q; valid lists: %s", id, strings.Join(sortedKeys(ix.Lists), ", "))
		}
	}
	sel := Selector{Entities: entities, Lists: lists, IncludeHosts: *hosts}
	inds := Indicators(ix, sel, wantsNames(*format), wantsAddrs[*format])
	desc := "all catalogued entities"
	if len(entities)+len(lists) > 0 {
		desc = "entities " + strings.Join(entities, ",") + " lists " + strings.Join(lists, ",")
	}
	if *hosts {
		desc += ", hosting included"
	}
	if len(inds) == 0 {
		what := "names"
		if !wantsNames(*format) {
			what = "address prefixes"
		}
		return env.Errorf(cli.ExitFailure, "catalog export: the selection (%s) has no %s for format %s: nothing written", desc, what, *format)
	}
	h := indicator.Header{Title: "outflow " + *format + " export", Generated: env.Now(), Selection: desc}
	write := func(w io.Writer) error { return writeFormat(w, *format, h, inds) }
	if *format == "edl-ip" || *format == "edl-domain" {
		fmt.Fprintf(env.Stderr, "catalog export: %s, %s, generated %s\n", h.Title, desc, h.Generated.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if *out != "" {
		err = outfile.Write(*out, write)
	} else {
		err = write(env.Stdout)
	}
	if err != nil {
		return env.Errorf(cli.ExitFailure, "catalog export: %v", err)
	}
	return cli.ExitOK
}

func writeFormat(w io.Writer, format string, h indicator.Header, inds []indicator.Indicator) error {
	switch format {
	case "nftables":
		return nftables.Write(w, h, inds)
	case "ipset":
		return ipset.Write(w, h, inds)
	case "edl-ip":
		return edl.WriteIP(w, inds)
	case "edl-domain":
		return edl.WriteDomain(w, inds)
	case "suricata":
		return suricata.Write(w, h, inds)
	case "zeek-intel":
		return zeekintel.Write(w, h, inds)
	case "stix":
		return stix.Write(w, h, inds)
	}
	var entries []blocklist.Entry
	for _, x := range inds {
		entries = append(entries, blocklist.Entry{Name: x.Domain, Entity: x.Entity, Source: x.Source})
	}
	return blocklist.Write(w, format, blocklist.Header{Title: "outflow blocklist", Generated: h.Generated, Selection: h.Selection}, entries)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Indicators selects the catalog's names and address prefixes for an
// export. Prefixes are the entity's own announced ones: those of hosting,
// cloud and carrier networks (which serve everyone) only with
// IncludeHosts. The HTTP-DNS services of a selected owner come with it,
// names and addresses, since they are how its apps resolve names past the
// network's resolver.
func Indicators(ix *catalog.Index, sel Selector, names, addrs bool) []indicator.Indicator {
	var out []indicator.Indicator
	mk := func(e *catalog.Entity, rule string, src *catalog.Source, srcID string, asOf catalog.Date, st catalog.Status) indicator.Indicator {
		x := indicator.Indicator{Entity: e.ID, EntityName: e.Name, Rule: rule, Source: srcID, AsOf: asOf.String(), Unverified: st == catalog.Unverified}
		if src != nil {
			x.SourceURL, x.SourceDate = src.URL, src.Date.String()
		}
		seen := map[string]bool{}
		for _, m := range e.Memberships {
			if !seen[m.List.ID] {
				seen[m.List.ID] = true
				x.Lists = append(x.Lists, m.List.ID)
			}
		}
		return x
	}
	if names {
		for _, a := range ix.Assets() {
			if a.Kind == catalog.KindDomain && sel.Match(a) {
				x := mk(a.Entity, a.Rule(), a.Source, a.Source.ID, a.AsOf, a.Status)
				x.Domain = a.Value
				out = append(out, x)
			}
		}
	}
	if addrs {
		for _, a := range ix.AllAssets() {
			if a.Kind != catalog.KindPrefix || !sel.Match(a) || (a.Role == catalog.RoleCarrier && !sel.IncludeHosts) {
				continue
			}
			p, err := netip.ParsePrefix(a.Value)
			if err != nil {
				continue
			}
			x := mk(a.Entity, a.Rule(), a.Source, a.Source.ID, a.AsOf, a.Status)
			x.Prefix = p
			out = append(out, x)
		}
	}
	for _, s := range ix.DNSServiceList() {
		if s.Kind != catalog.HTTPDNS || !sel.MatchEntity(s.OwnerEntity) {
			continue
		}
		fact := func(f catalog.DNSFact) indicator.Indicator {
			id := s.Source
			if f.Source != "" {
				id = f.Source
			}
			st := s.Status
			if f.Status != "" {
				st = f.Status
			}
			return mk(s.OwnerEntity, s.Rule(), ix.Sources[id], id, s.AsOf, st)
		}
		if names {
			for _, f := range s.Names {
				x := fact(f)
				x.Domain = f.Value
				out = append(out, x)
			}
		}
		if addrs {
			for i, f := range s.Addresses {
				x := fact(f)
				x.Prefix = s.Prefixes[i]
				out = append(out, x)
			}
		}
	}
	return out
}

// Selector picks assets by entity (with everything it controls) and by
// official list.
type Selector struct {
	Entities     []string
	Lists        []string
	IncludeHosts bool
}

// Match reports whether the selector takes the asset.
func (s Selector) Match(a *catalog.Asset) bool {
	if !s.IncludeHosts && (a.Role == catalog.RoleHost || a.Role == catalog.RoleChip) {
		return false
	}
	return s.MatchEntity(a.Entity)
}

// MatchEntity reports whether the selector takes an entity: it or an owner
// on its chain is selected, or it is on a selected list.
func (s Selector) MatchEntity(e *catalog.Entity) bool {
	if len(s.Entities) == 0 && len(s.Lists) == 0 {
		return true
	}
	for _, id := range s.Entities {
		for _, c := range e.Chain {
			if c.ID == id {
				return true
			}
		}
	}
	for _, id := range s.Lists {
		for _, m := range e.Memberships {
			if m.List.ID == id {
				return true
			}
		}
	}
	return false
}

func genPrefixes(env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "catalog gen-prefixes", "catalog gen-prefixes --asn-db DIR [-o FILE]")
	var cf cli.CatalogFlags
	cf.Register(fs)
	db := fs.String("asn-db", "node_modules/@ip-location-db/asn", "directory of the @ip-location-db/asn npm package")
	out := fs.String("o", "", "output file (default standard output)")
	if _, code, ok := cli.Parse(fs, args); !ok {
		return code
	}
	ix, err := cf.Open(env)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "catalog: %v", err)
	}
	want := asngen.Want{}
	for _, a := range ix.Assets() {
		if a.Kind == catalog.KindASN {
			n, _ := strconv.ParseUint(strings.TrimPrefix(a.Value, "AS"), 10, 32)
			want[uint32(n)] = asngen.Holder{Entity: a.Entity.ID, Role: string(a.Role)}
		}
	}
	var n int
	gen := func(w io.Writer) (err error) {
		n, err = asngen.Generate(w, *db, want)
		return err
	}
	if *out != "" {
		err = outfile.Write(*out, gen)
	} else {
		w := bufio.NewWriter(env.Stdout)
		if err = gen(w); err == nil {
			err = w.Flush()
		}
	}
	if err != nil {
		return env.Errorf(cli.ExitInput, "gen-prefixes: %v", err)
	}
	fmt.Fprintf(env.Stderr, "gen-prefixes: %d prefixes of %d ASNs\n", n, len(want))
	return cli.ExitOK
}
