package catalog

import (
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"
)

const goodSources = `sources:
  - id: s1
    title: A source
    date: 2026-01-01
`

const goodEntity = `id: acme
name: Acme Ltd.
jurisdiction: CN
roles: [app-owner]
source: s1
as_of: 2026-01-01
`

func layer(files map[string]string) Layer {
	m := fstest.MapFS{}
	for k, v := range files {
		m[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return Layer{Name: "t", FS: m}
}

func compile(files map[string]string) (*Index, error) {
	raw, err := Load(layer(files))
	if err != nil {
		return nil, err
	}
	return Compile(raw, Options{At: testNow})
}

// TestBrokenCatalogs: every broken fixture fails, naming the file and line.
func TestBrokenCatalogs(t *testing.T) {
	asset := func(rows string) string { return strings.Join(AssetColumns, ",") + "\n" + rows }
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"unknown key", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity + "colour: red\n"},
			`t/entities/acme.yaml:7:1: unknown key "colour" at top level; allowed: aka, as_of, id,`},
		{"bad jurisdiction", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": strings.Replace(goodEntity, "CN", "China", 1)},
			`t/entities/acme.yaml:1: entity acme: jurisdiction "China" is not an ISO 3166 alpha-2 code`},
		{"unknown source", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": strings.Replace(goodEntity, "source: s1", "source: s9", 1)},
			`cites unknown source "s9"`},
		{"asset without date", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
			"assets/a.csv": asset("acme,domain,acme.cn,,,s1,,,\n")}, "t/assets/a.csv:2: domain acme.cn has no as_of date"},
		{"asset without source", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
			"assets/a.csv": asset("acme,domain,acme.cn,,,,2026-01-01,,\n")}, "t/assets/a.csv:2: domain acme.cn has no source"},
		{"bad domain", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
			"assets/a.csv": asset("acme,domain,*.acme.cn,,,s1,2026-01-01,,\n")}, `t/assets/a.csv:2: domain "*.acme.cn": not a domain name`},
		{"bad oui", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
			"assets/a.csv": asset("acme,oui,34:D2,,,s1,2026-01-01,,\n")}, `t/assets/a.csv:2: oui "34:D2"`},
		{"bad prefix", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
			"assets/a.csv": asset("acme,prefix,10.1.2.3/8,,,s1,2026-01-01,,\n")}, "host bits set; write 10.0.0.0/8"},
		{"bad package", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
			"assets/a.csv": asset("acme,sdk,com..acme,,,s1,2026-01-01,,\n")}, "not a dotted Java package name"},
		{"double claim", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
			"entities/other.yaml": strings.Replace(goodEntity, "acme", "other", 1),
			"assets/a.csv":        asset("acme,domain,acme.cn,,,s1,2026-01-01,,\nother,domain,ACME.cn,,,s1,2026-01-01,,\n")},
			"t/assets/a.csv:3: domain acme.cn is claimed by other and by acme (t/assets/a.csv:2)"},
		{"unknown entity", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
			"assets/a.csv": asset("nobody,domain,acme.cn,,,s1,2026-01-01,,\n")}, `t/assets/a.csv:2: entity "nobody" is not in the catalog`},
		{"wrong header", map[string]string{"sources.yaml": goodSources, "assets/a.csv": "entity,kind,value\n"}, "t/assets/a.csv:1: header must be"},
		{"short row", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
			"assets/a.csv": asset("acme,domain\n")}, "t/assets/a.csv:2: 2 fields, want 9"},
		{"parent missing", map[string]string{"sources.yaml": goodSources,
			"entities/acme.yaml": goodEntity + "parents:\n  - id: ghost\n    source: s1\n    as_of: 2026-01-01\n"}, `parent "ghost" is not in the catalog`},
		{"list entry line", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
			"lists/l.yaml": "id: l\nname: L\nissuer: I\ndate: 2026-01-01\nsource: s1\nentries:\n  - entity: acme\n    added: 2026-01-01\n  - entity: ghost\n    added: 2026-01-01\n"},
			`t/lists/l.yaml:9: list l: entity "ghost" is not in the catalog`},
		{"bad date", map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": strings.Replace(goodEntity, "as_of: 2026-01-01", "as_of: 01/02/2026", 1)},
			`t/entities/acme.yaml:6:8: as_of: date "01/02/2026" is not YYYY-MM-DD`},
		{"ownership cycle", map[string]string{"sources.yaml": goodSources,
			"entities/acme.yaml":  goodEntity + "parents:\n  - id: other\n    source: s1\n    as_of: 2026-01-01\n",
			"entities/other.yaml": strings.Replace(goodEntity, "acme", "other", 1) + "parents:\n  - id: acme\n    source: s1\n    as_of: 2026-01-01\n"},
			"ownership cycle"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compile(tc.files)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n%v\ndoes not contain\n%s", err, tc.want)
			}
		})
	}
}

func TestSharedClaimWithReason(t *testing.T) {
	asset := strings.Join(AssetColumns, ",") + "\nacme,domain,acme.cn,,,s1,2026-01-01,,shared: joint venture\nother,domain,acme.cn,,,s1,2026-01-01,,shared: joint venture\n"
	_, err := compile(map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
		"entities/other.yaml": strings.Replace(goodEntity, "acme", "other", 1), "assets/a.csv": asset})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUserLayerOverrides(t *testing.T) {
	base := layer(map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
		"assets/a.csv": strings.Join(AssetColumns, ",") + "\nacme,domain,acme.cn,,,s1,2026-01-01,,\n"})
	user := Layer{Name: "mine", FS: fstest.MapFS{
		"entities/acme.yaml": {Data: []byte(strings.Replace(goodEntity, "Acme Ltd.", "Acme Holdings", 1))},
		"entities/sub.yaml":  {Data: []byte(strings.Replace(goodEntity, "acme", "sub", 1) + "parents:\n  - id: acme\n    source: s1\n    as_of: 2026-01-01\n")},
		"assets/b.csv":       {Data: []byte(strings.Join(AssetColumns, ",") + "\nsub,domain,acme.cn,,,s1,2026-01-01,,\n")},
	}}
	raw, err := Load(base, user)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := Compile(raw, Options{At: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if ix.Entities["acme"].Name != "Acme Holdings" {
		t.Errorf("entity not replaced: %q", ix.Entities["acme"].Name)
	}
	a := ix.LookupDomain("www.acme.cn")
	if a == nil || a.Entity.ID != "sub" || len(a.Entity.Chain) != 2 {
		t.Fatalf("user claim did not override: %+v", a)
	}
}

func TestOwnershipDates(t *testing.T) {
	files := map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
		"entities/jv.yaml": strings.Replace(goodEntity, "acme", "jv", 1) +
			"parents:\n  - id: acme\n    until: 2026-01-22\n    source: s1\n    as_of: 2026-01-01\n  - id: acme\n    share: 19.9\n    since: 2026-01-22\n    source: s1\n    as_of: 2026-01-01\n"}
	raw, _ := Load(layer(files))
	before, err := Compile(raw, Options{At: testNow.AddDate(-1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if c := before.Entities["jv"].Chain; len(c) != 2 {
		t.Errorf("before: chain of %d, want jv < acme", len(c))
	}
	raw, _ = Load(layer(files))
	after, err := Compile(raw, Options{At: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if c := after.Entities["jv"].Chain; len(c) != 1 || len(after.Entities["jv"].Minority) != 1 {
		t.Errorf("after: chain %d minority %d, want 1 and 1", len(c), len(after.Entities["jv"].Minority))
	}
}

func FuzzEntityYAML(f *testing.F) {
	f.Add(goodEntity)
	f.Add("id: [\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = compile(map[string]string{"sources.yaml": goodSources, "entities/x.yaml": s})
	})
}

func FuzzListYAML(f *testing.F) {
	f.Add("id: l\nname: L\nissuer: I\ndate: 2026-01-01\nsource: s1\nentries:\n  - entity: acme\n    added: 2026-01-01\ncountries: [CN]\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = compile(map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity, "lists/l.yaml": s})
	})
}

func FuzzAssetsCSV(f *testing.F) {
	head := strings.Join(AssetColumns, ",") + "\n"
	f.Add(head + "acme,domain,acme.cn,,,s1,2026-01-01,,\n")
	f.Add(head + "acme,oui,70:B3:D5:E/28,,,s1,2026-01,unverified,\"a,b\"\n")
	f.Add(head + "acme,prefix,2001:db8::/32,host,AS1,s1,2026,,\n")
	f.Fuzz(func(t *testing.T, s string) {
		ix, err := compile(map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity, "assets/a.csv": s})
		if err == nil {
			ix.LookupDomain("www.acme.cn")
		}
	})
}

func FuzzSourcesYAML(f *testing.F) {
	f.Add(goodSources)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = compile(map[string]string{"sources.yaml": s, "entities/acme.yaml": goodEntity})
	})
}

// TestLazyPrefixTable: a generated prefix table is parsed on the first
// address lookup; Check reports its problems with file and line; an eager
// row of the same prefix in a later layer keeps its claim.
func TestLazyPrefixTable(t *testing.T) {
	head := strings.Join(AssetColumns, ",") + "\n"
	base := layer(map[string]string{"sources.yaml": goodSources, "entities/acme.yaml": goodEntity,
		"entities/other.yaml": strings.Replace(goodEntity, "acme", "other", 1),
		"assets/" + LazyTable: head + "acme,prefix,192.0.2.0/24,,AS64500,s1,2026-01-01,,\nacme,prefix,198.51.100.0/24,,AS64500,s1,2026-01-01,,\nacme,prefix,10.1.2.3/8,,AS64500,s1,2026-01-01,,\n"})
	user := Layer{Name: "mine", FS: fstest.MapFS{
		"assets/own.csv": {Data: []byte(head + "other,prefix,198.51.100.0/24,,,s1,2026-01-01,,\n")},
	}}
	raw, err := Load(base, user)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := Compile(raw, Options{At: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.lazyAssets) != 0 || len(ix.lazy) != 1 {
		t.Fatal("the prefix table was parsed before any address lookup")
	}
	if a := ix.LookupAddr(netip.MustParseAddr("192.0.2.7")); a == nil || a.Entity.ID != "acme" || a.Name != "AS64500" {
		t.Fatalf("lazy prefix: %+v", a)
	}
	if a := ix.LookupAddr(netip.MustParseAddr("198.51.100.7")); a == nil || a.Entity.ID != "other" {
		t.Fatalf("the user's own row should win: %+v", a)
	}
	err = ix.Check()
	if err == nil || !strings.Contains(err.Error(), "t/assets/"+LazyTable+":4: prefix \"10.1.2.3/8\"") {
		t.Fatalf("Check: %v", err)
	}
	if n := len(ix.AllAssets()); n != len(ix.Assets())+1 {
		t.Fatalf("AllAssets %d", n)
	}
}

func TestAssetCountDoesNotParse(t *testing.T) {
	raw, err := Load(Builtin())
	if err != nil {
		t.Fatal(err)
	}
	ix, err := Compile(raw, Options{At: testNow})
	if err != nil {
		t.Fatal(err)
	}
	before := ix.AssetCount()
	if ix.lazyDone.Load() {
		t.Fatal("AssetCount parsed the prefix table")
	}
	if after := len(ix.AllAssets()); after != before || after == len(ix.Assets()) {
		t.Fatalf("counted %d before parsing, %d after (%d eager)", before, after, len(ix.Assets()))
	}
}
