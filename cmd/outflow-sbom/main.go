// Command outflow-sbom writes the CycloneDX SBOM of a built outflow
// binary (scripts/dist runs it; it is not shipped):
//
//	outflow-sbom -o outflow_linux_amd64.cdx.json dist/outflow_linux_amd64/outflow
//
// It reads go.mod's requires with `go mod edit -json` in the working
// directory and licences from GOMODCACHE.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/sbom"
)

func main() {
	out := flag.String("o", "", "write the SBOM to this file (default standard output)")
	version := flag.String("version", "", "the release version (default the binary's)")
	strict := flag.Bool("permissive", false, "fail when a linked module's licence is unknown or not permissive (MIT, BSD, Apache-2.0, ISC)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: outflow-sbom [-o FILE] [-version V] [-permissive] BINARY")
		os.Exit(1)
	}
	if err := run(flag.Arg(0), *out, *version, *strict); err != nil {
		fmt.Fprintln(os.Stderr, "outflow-sbom:", err)
		os.Exit(1)
	}
}

func run(bin, out, version string, strict bool) error {
	modJSON, err := exec.Command("go", "mod", "edit", "-json").Output()
	if err != nil {
		return fmt.Errorf("go mod edit -json: %w", err)
	}
	var mod struct{ Require []sbom.Require }
	if err := json.Unmarshal(modJSON, &mod); err != nil {
		return fmt.Errorf("go mod edit -json: %w", err)
	}
	cache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	t := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
		}
		t = time.Unix(sec, 0)
	}
	bom, err := sbom.ForFile(bin, sbom.Options{Name: "outflow", Version: version, Time: t,
		ModCache: strings.TrimSpace(string(cache)), Requires: mod.Require})
	if err != nil {
		return err
	}
	if bad := bom.NotPermissive(); strict && len(bad) > 0 {
		return fmt.Errorf("%s links modules without a known permissive licence: %s", bin, strings.Join(bad, ", "))
	}
	b, err := bom.JSON()
	if err != nil {
		return err
	}
	if out == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(out, b, 0o644)
}
