package catalog

import "testing"

// TestBuiltinValid is `outflow catalog check` on the embedded catalog.
func TestBuiltinValid(t *testing.T) {
	ix, err := Open(testNow)
	if err != nil {
		t.Fatalf("built-in catalog does not validate:\n%v", err)
	}
	if err := ix.Check(); err != nil {
		t.Fatalf("built-in prefix table does not validate:\n%v", err)
	}
	if len(ix.Entities) == 0 || len(ix.Assets()) == 0 {
		t.Fatalf("built-in catalog is empty: %d entities, %d assets", len(ix.Entities), len(ix.Assets()))
	}
}
