package catalogcmd

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/catalog/asngen"
	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/export/blocklist"
	"github.com/outflow-dev/outflow/internal/outfile"
)

func export(env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "catalog export", "catalog export --format hosts|rpz|adguard|dnsmasq|unbound [--entity ID]... [--list ID]... [--include-hosts] [-o FILE]")
	var cf cli.CatalogFlags
	cf.Register(fs)
	format := fs.String("format", "adguard", "output format: "+strings.Join(blocklist.Formats, ", "))
	var entities, lists cli.Strings
	fs.Var(&entities, "entity", "entity whose names (and its subsidiaries') to export (repeatable)")
	fs.Var(&lists, "list", "export the names of every entity on this official list (repeatable)")
	hosts := fs.Bool("include-hosts", false, "also export names of cloud and CDN hosting that serve others' content (blocks customers' sites too)")
	out := fs.String("o", "", "write to this file instead of standard output")
	if _, code, ok := cli.Parse(fs, args); !ok {
		return code
	}
	ix, err := cf.Open(env)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "catalog: %v", err)
	}
	for _, id := range entities {
		if ix.Entities[id] == nil {
			return env.Errorf(cli.ExitFailure, "catalog export: no entity %q", id)
		}
	}
	for _, id := range lists {
		if ix.Lists[id] == nil {
			return env.Errorf(cli.ExitFailure, "catalog export: no list %q (outflow catalog lists)", id)
		}
	}
	sel := Selector{Entities: entities, Lists: lists, IncludeHosts: *hosts}
	var entries []blocklist.Entry
	for _, a := range ix.Assets {
		if a.Kind != catalog.KindDomain || !sel.Match(a) {
			continue
		}
		entries = append(entries, blocklist.Entry{Name: a.Value, Entity: a.Entity.ID, Source: a.Source.ID})
	}
	desc := "all catalogued entities"
	if len(entities)+len(lists) > 0 {
		desc = "entities " + strings.Join(entities, ",") + " lists " + strings.Join(lists, ",")
	}
	h := blocklist.Header{Title: "outflow blocklist", Generated: env.Now(), Selection: desc}
	if *out != "" {
		err = outfile.Write(*out, func(w io.Writer) error { return blocklist.Write(w, *format, h, entries) })
	} else {
		err = blocklist.Write(env.Stdout, *format, h, entries)
	}
	if err != nil {
		return env.Errorf(cli.ExitFailure, "catalog export: %v", err)
	}
	return cli.ExitOK
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
	if len(s.Entities) == 0 && len(s.Lists) == 0 {
		return true
	}
	for _, id := range s.Entities {
		for _, c := range a.Entity.Chain {
			if c.ID == id {
				return true
			}
		}
	}
	for _, id := range s.Lists {
		for _, m := range a.Entity.Memberships {
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
	for _, a := range ix.Assets {
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
