package audit

import (
	"bytes"
	"slices"
	"strings"

	"github.com/outflow-dev/outflow/internal/catalog"
)

// sdkTable classifies class descriptors by the catalog's SDK package
// prefixes with the catalog's own rule (the longest prefix at a package or
// class boundary, catalog.Index.LookupSDK), without a catalog call or an
// allocation per class: the prefixes are keyed in descriptor form.
type sdkTable struct {
	assets []*catalog.Asset
	byDesc map[string]int // "Lcom/sina/weibo/sdk" -> index
	parent []int          // nearest enclosing catalogued prefix, -1 for none
	depth  []int
}

func newSDKTable(ix *catalog.Index) *sdkTable {
	t := &sdkTable{byDesc: map[string]int{}}
	if ix == nil {
		return t
	}
	seen := map[string]bool{}
	var values []string
	for _, a := range ix.Assets() {
		if a.Kind == catalog.KindSDK && !seen[a.Value] {
			seen[a.Value] = true
			values = append(values, a.Value)
		}
	}
	slices.Sort(values)
	for _, v := range values {
		a := ix.LookupSDK(v) // the asset the catalog itself answers with
		if a == nil || a.Value != v {
			continue
		}
		t.byDesc["L"+strings.ReplaceAll(v, ".", "/")] = len(t.assets)
		t.assets = append(t.assets, a)
	}
	t.parent = make([]int, len(t.assets))
	t.depth = make([]int, len(t.assets))
	for i, a := range t.assets {
		t.parent[i] = -1
		t.depth[i] = strings.Count(a.Value, ".")
		for v := a.Value; ; {
			j := strings.LastIndexByte(v, '.')
			if j < 0 {
				break
			}
			v = v[:j]
			if k, ok := t.byDesc["L"+strings.ReplaceAll(v, ".", "/")]; ok {
				t.parent[i] = k
				break
			}
		}
	}
	return t
}

// classify returns the index of the SDK a class descriptor belongs to, or -1.
func (t *sdkTable) classify(desc []byte) int {
	if len(t.byDesc) == 0 || len(desc) < 2 || desc[0] != 'L' {
		return -1
	}
	d := bytes.TrimSuffix(desc, []byte(";"))
	for end := len(d); end > 1; {
		if i, ok := t.byDesc[string(d[:end])]; ok {
			return i
		}
		end = bytes.LastIndexByte(d[:end], '/')
	}
	return -1
}

// inclusive turns per-SDK counts of classes whose most specific prefix is
// the SDK into counts of all classes under each prefix.
func (t *sdkTable) inclusive(own []int) []int {
	out := slices.Clone(own)
	order := make([]int, len(t.assets))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return t.depth[b] - t.depth[a] })
	for _, i := range order {
		if p := t.parent[i]; p >= 0 {
			out[p] += out[i]
		}
	}
	return out
}
