package stix

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/export/indicator"
)

var (
	idRE        = regexp.MustCompile(`^[a-z][a-z0-9-]+--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$`)
	// A comparison expression of the STIX patterning grammar, as the
	// export writes them: [object-type:property op 'literal' (OR ...)].
	comparison = `(domain-name|ipv4-addr|ipv6-addr):value (=|LIKE) '([^'\\]|\\.)*'`
	patternRE  = regexp.MustCompile(`^\[` + comparison + `( (OR|AND) ` + comparison + `)*\]$`)
)

// TestBundle checks the STIX 2.1 required properties of every object
// (bundle: type, id; SDOs and SROs: type, spec_version, id, created,
// modified; identity: name; indicator: pattern, pattern_type,
// valid_from; relationship: relationship_type, source_ref, target_ref
// pointing at objects of the bundle), the pattern syntax, and the
// external reference carrying the catalog's source and date.
func TestBundle(t *testing.T) {
	in := []indicator.Indicator{
		{Domain: "tiktok.com", Entity: "bytedance", EntityName: "ByteDance Ltd.", Lists: []string{"fcc-covered"}, Rule: "domain:tiktok.com",
			Source: "ndpi-3b1286ab", SourceURL: "https://github.com/ntop/nDPI", SourceDate: "2024-10-21", AsOf: "2024-10-21"},
		{Domain: "o'neil.example", Entity: "acme", Rule: "domain:o'neil.example", Unverified: true},
		{Prefix: netip.MustParsePrefix("71.18.0.0/16"), Entity: "bytedance", EntityName: "ByteDance Ltd.", Rule: "prefix:71.18.0.0/16", Source: "ipdb"},
		{Prefix: netip.MustParsePrefix("2402:3e80::/32"), Entity: "bytedance", Rule: "prefix:2402:3e80::/32"},
	}
	var b bytes.Buffer
	if err := Write(&b, indicator.Header{Title: "t", Generated: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}, in); err != nil {
		t.Fatal(err)
	}
	var bundle map[string]any
	if err := json.Unmarshal(b.Bytes(), &bundle); err != nil {
		t.Fatal(err)
	}
	if bundle["type"] != "bundle" || !idRE.MatchString(bundle["id"].(string)) {
		t.Fatalf("bundle: %v %v", bundle["type"], bundle["id"])
	}
	objs := bundle["objects"].([]any)
	ids := map[string]string{}
	count := map[string]int{}
	for _, o := range objs {
		m := o.(map[string]any)
		ids[m["id"].(string)] = m["type"].(string)
	}
	for _, o := range objs {
		m := o.(map[string]any)
		typ := m["type"].(string)
		count[typ]++
		str := func(k string) string { s, _ := m[k].(string); return s }
		if str("spec_version") != "2.1" || !idRE.MatchString(str("id")) || str("id")[:len(typ)] != typ ||
			!timestampRE.MatchString(str("created")) || !timestampRE.MatchString(str("modified")) {
			t.Errorf("common properties: %v", m)
		}
		switch typ {
		case "identity":
			if str("name") == "" || str("identity_class") != "organization" {
				t.Errorf("identity: %v", m)
			}
		case "indicator":
			if str("pattern_type") != "stix" || !patternRE.MatchString(str("pattern")) || !timestampRE.MatchString(str("valid_from")) {
				t.Errorf("indicator pattern or required property: %q %v", str("pattern"), m)
			}
			refs, _ := m["external_references"].([]any)
			if len(refs) == 0 || refs[0].(map[string]any)["source_name"] == "" {
				t.Errorf("indicator without source reference: %v", m)
			}
		case "relationship":
			if str("relationship_type") != "attributed-to" || ids[str("source_ref")] != "indicator" || ids[str("target_ref")] != "identity" {
				t.Errorf("relationship: %v", m)
			}
		default:
			t.Errorf("unexpected object type %s", typ)
		}
	}
	if count["identity"] != 2 || count["indicator"] != 4 || count["relationship"] != 4 {
		t.Errorf("counts: %v", count)
	}
	for _, want := range []string{
		`"pattern": "[domain-name:value = 'tiktok.com' OR domain-name:value LIKE '%.tiktok.com']"`,
		`"pattern": "[ipv6-addr:value = '2402:3e80::/32']"`,
		`o\\'neil.example`,
		`"url": "https://github.com/ntop/nDPI"`,
		`domain:tiktok.com, source ndpi-3b1286ab (document of 2024-10-21), as of 2024-10-21`,
	} {
		if !bytes.Contains(b.Bytes(), []byte(want)) {
			t.Errorf("bundle lacks %s", want)
		}
	}
	// Same catalog, same ids.
	var b2 bytes.Buffer
	Write(&b2, indicator.Header{Title: "t", Generated: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}, in)
	if !bytes.Equal(b.Bytes(), b2.Bytes()) {
		t.Error("export is not deterministic")
	}
}
