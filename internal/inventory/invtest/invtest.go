// Package invtest holds what the inventory format tests share: parse a
// fixture into items and positioned errors, read a fixture file. For tests
// only.
//
// It must never import a format sub-package.
package invtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/outflow-dev/outflow/internal/inventory"
)

// Parse runs p over data named name and returns the items, the text of
// each *inventory.ParseError reported on the way, and the final error.
func Parse(t testing.TB, p inventory.Parser, data []byte, name string) ([]inventory.Item, []string, error) {
	t.Helper()
	var items []inventory.Item
	var errs []string
	err := p.Parse(context.Background(), bytes.NewReader(data), name, func(it inventory.Item, err error) error {
		if err != nil {
			var pe *inventory.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("visit got %T, want *inventory.ParseError", err)
			}
			errs = append(errs, err.Error())
			return nil
		}
		items = append(items, it)
		return nil
	})
	return items, errs, err
}

// Read reads a fixture or fails the test.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
