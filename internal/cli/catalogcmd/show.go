package catalogcmd

import (
	"fmt"
	"sort"
	"strings"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
	"github.com/outflow-dev/outflow/internal/cli"
)

type entityView struct {
	*catalog.Entity
	OwnerChain []string            `json:"owner_chain"`
	Children   []string            `json:"children,omitempty"`
	Lists      []attribute.ListRef `json:"lists"`
	Assets     []assetView         `json:"assets"`
	SourceRef  attribute.SourceRef `json:"source_ref"`
}

type assetView struct {
	*catalog.Asset
	Source string `json:"source"`
}

func show(env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "catalog show", "catalog show [--json] [--assets N] ID...")
	var cf cli.CatalogFlags
	cf.Register(fs)
	asJSON := fs.Bool("json", false, "JSON output")
	most := fs.Int("assets", 20, "assets to print per kind in text output (all in --json)")
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
	byEntity := map[*catalog.Entity][]*catalog.Asset{}
	for _, a := range ix.AllAssets() {
		byEntity[a.Entity] = append(byEntity[a.Entity], a)
	}
	status := cli.ExitOK
	for _, id := range rest {
		e := ix.Entities[id]
		if e == nil {
			status = env.Errorf(cli.ExitFailure, "catalog show: no entity %q (outflow catalog lookup finds one by name or indicator)", id)
			continue
		}
		v := entityView{Entity: e, Lists: attribute.Lists(e), SourceRef: attribute.SourceOf(ix.Sources[e.Source])}
		for _, c := range e.Chain {
			v.OwnerChain = append(v.OwnerChain, c.ID)
		}
		for _, c := range e.Children {
			v.Children = append(v.Children, c.ID)
		}
		sort.Strings(v.Children)
		for _, a := range byEntity[e] {
			v.Assets = append(v.Assets, assetView{Asset: a, Source: a.Source.ID})
		}
		if *asJSON {
			if err := writeJSON(env.Stdout, v); err != nil {
				return env.Errorf(cli.ExitFailure, "%v", err)
			}
			continue
		}
		printEntity(env, v, *most)
	}
	return status
}

func printEntity(env *cli.Env, v entityView, most int) {
	w := env.Stdout
	e := v.Entity
	fmt.Fprintf(w, "%s: %s\n", e.ID, e.Name)
	if len(e.Aka) > 0 {
		fmt.Fprintf(w, "  also known as  %s\n", strings.Join(e.Aka, ", "))
	}
	fmt.Fprintf(w, "  jurisdiction   %s", e.Jurisdiction)
	if e.Incorporated != "" && e.Incorporated != e.Jurisdiction {
		fmt.Fprintf(w, " (incorporated in %s)", e.Incorporated)
	}
	fmt.Fprintln(w)
	if len(e.Roles) > 0 {
		var rs []string
		for _, r := range e.Roles {
			rs = append(rs, string(r))
		}
		fmt.Fprintf(w, "  roles          %s\n", strings.Join(rs, ", "))
	}
	fmt.Fprintf(w, "  owner chain    %s\n", strings.Join(v.OwnerChain, " < "))
	for _, p := range e.Parents {
		share := "control"
		if p.Share > 0 {
			share = fmt.Sprintf("%.1f%%", p.Share)
		}
		span := ""
		if !p.Since.IsZero() {
			span += " since " + p.Since.Text
		}
		if !p.Until.IsZero() {
			span += " until " + p.Until.Text
		}
		fmt.Fprintf(w, "  parent         %s (%s%s; source %s)\n", p.ID, share, span, p.Source)
	}
	if len(v.Children) > 0 {
		fmt.Fprintf(w, "  controls       %s\n", strings.Join(v.Children, ", "))
	}
	for i, l := range v.Lists {
		label := "  lists         "
		if i > 0 {
			label = "                "
		}
		fmt.Fprintf(w, "%s %s (%s)", label, l.ID, l.Name)
		if l.Added != "" {
			fmt.Fprintf(w, " since %s", l.Added)
		}
		if l.Via != e.ID {
			fmt.Fprintf(w, " via %s", l.Via)
		}
		if l.Status == string(catalog.Unverified) {
			fmt.Fprint(w, " [UNVERIFIED]")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  source         %s: %s (%s), as of %s\n", v.SourceRef.ID, v.SourceRef.Title, v.SourceRef.Date, e.AsOf)
	if e.Note != "" {
		fmt.Fprintf(w, "  note           %s\n", e.Note)
	}
	byKind := map[catalog.AssetKind][]assetView{}
	var kinds []string
	for _, a := range v.Assets {
		if byKind[a.Kind] == nil {
			kinds = append(kinds, string(a.Kind))
		}
		byKind[a.Kind] = append(byKind[a.Kind], a)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		as := byKind[catalog.AssetKind(k)]
		fmt.Fprintf(w, "  %s (%d)\n", k, len(as))
		for i, a := range as {
			if i == most {
				fmt.Fprintf(w, "    ... %d more (--assets N or --json for all)\n", len(as)-most)
				break
			}
			extra := ""
			if a.Name != "" {
				extra = " " + a.Name
			}
			unv := ""
			if a.Status == catalog.Unverified {
				unv = " [UNVERIFIED]"
			}
			fmt.Fprintf(w, "    %-40s%s (%s, %s %s)%s\n", a.Value, extra, a.Role, a.Source, a.AsOf, unv)
		}
	}
	fmt.Fprintln(w)
}

func lists(env *cli.Env, args []string) int {
	fs := cli.NewFlags(env, "catalog lists", "catalog lists [--json]")
	var cf cli.CatalogFlags
	cf.Register(fs)
	asJSON := fs.Bool("json", false, "JSON output")
	if _, code, ok := cli.Parse(fs, args); !ok {
		return code
	}
	ix, err := cf.Open(env)
	if err != nil {
		return env.Errorf(cli.ExitFailure, "catalog: %v", err)
	}
	var ls []*catalog.List
	for _, l := range ix.Lists {
		ls = append(ls, l)
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].ID < ls[j].ID })
	if *asJSON {
		if err := writeJSON(env.Stdout, ls); err != nil {
			return env.Errorf(cli.ExitFailure, "%v", err)
		}
		return cli.ExitOK
	}
	w := env.Stdout
	for _, l := range ls {
		fmt.Fprintf(w, "%s: %s\n  issuer  %s\n  basis   %s\n  date    %s (source %s)\n", l.ID, l.Name, l.Issuer, l.Basis, l.Date, l.Source)
		if len(l.Countries) > 0 {
			fmt.Fprintf(w, "  countries %s\n", strings.Join(l.Countries, ", "))
		}
		for _, en := range l.Entries {
			unv := ""
			if en.Status == catalog.Unverified {
				unv = " [UNVERIFIED]"
			}
			fmt.Fprintf(w, "  - %-22s added %s%s", en.Entity, en.Added, unv)
			if en.Scope != "" {
				fmt.Fprintf(w, ": %s", en.Scope)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	return cli.ExitOK
}
