// Command catgen writes the compiled form of the catalog's text files
// (internal/catalog.GenerateCompiled): `go generate ./catalog/` runs it in
// catalog/. It writes the file only when its bytes change.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/outflow-dev/outflow/internal/catalog"
)

func main() {
	out := flag.String("o", "catalog.bin", "file to write")
	dir := flag.String("dir", ".", "the catalog directory (sources.yaml, entities/, lists/, assets/, dns-services/)")
	flag.Parse()
	b, err := catalog.GenerateCompiled(os.DirFS(*dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, "catgen:", err)
		os.Exit(1)
	}
	if old, err := os.ReadFile(*out); err == nil && bytes.Equal(old, b) {
		return
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "catgen:", err)
		os.Exit(1)
	}
}
