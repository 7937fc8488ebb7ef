package audit

import (
	"strings"
	"testing"

	"github.com/outflow-dev/outflow/internal/attribute"
	"github.com/outflow-dev/outflow/internal/catalog"
)

// The catalog evidence of a finding (which SARIF, the text and the HTML
// report carry) marks every unverified list entry of the entity's chain,
// and only those.
func TestCatalogEvidenceMarksUnverified(t *testing.T) {
	builtinAttributor(t)
	n := 0
	for _, id := range []string{"dji", "hikvision", "tiktok"} {
		e := catIx.Entities[id]
		if e == nil {
			t.Fatalf("no %s in the catalog", id)
		}
		note := catalogEvidence(attribute.Attribution{Entity: e}).Note
		for _, l := range attribute.Lists(e) {
			unverified := l.Status == string(catalog.Unverified)
			marked := strings.Contains(note, l.ID+"(unverified)")
			if unverified != marked {
				t.Errorf("%s: %s unverified=%v but the note says %q", id, l.ID, unverified, note)
			}
			if unverified {
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no unverified list entry among the entities tried: the test checks nothing")
	}
}
