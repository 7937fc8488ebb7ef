package entityrec

import (
	"slices"
	"testing"
	"time"

	"github.com/outflow-dev/outflow/internal/catalog"
)

func TestOf(t *testing.T) {
	ix, err := catalog.Open(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	tt := Of(ix.Entities["tiktok"])
	if tt.Registered != "SG" || tt.Jurisdiction != "CN" || tt.Name != "TikTok Pte. Ltd." {
		t.Errorf("tiktok: %+v", tt)
	}
	if !slices.Equal(tt.OwnerChain, []string{"tiktok", "bytedance"}) {
		t.Errorf("tiktok chain %v", tt.OwnerChain)
	}
	dji := Of(ix.Entities["dji"])
	// The built-in catalog marks DJI's BIS Entity List entry unverified:
	// the record must carry the mark, and only for that list.
	if !slices.Contains(dji.Unverified, "bis-entity-list") || slices.Contains(dji.Unverified, "fcc-covered") {
		t.Errorf("dji unverified lists %v of %v", dji.Unverified, dji.Lists)
	}
	for _, u := range dji.Unverified {
		if !slices.Contains(dji.Lists, u) {
			t.Errorf("unverified %s not among the lists %v", u, dji.Lists)
		}
	}
	if bd := Of(ix.Entities["bytedance"]); bd.Name == "" || bd.Jurisdiction != "CN" {
		t.Errorf("bytedance %+v", bd)
	}
}
