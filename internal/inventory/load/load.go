// Package load reads an inventory file in whatever supported format it is:
// it decompresses gzip, asks every parser to score the first bytes
// (inventory.Parser.Sniff), and runs the best one. A caller that knows the
// format names it instead.
//
// It is the only package that imports all the format packages; it must
// never import the catalog, policy or a sink.
package load

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/android"
	"github.com/outflow-dev/outflow/internal/inventory/intune"
	"github.com/outflow-dev/outflow/internal/inventory/ios"
	"github.com/outflow-dev/outflow/internal/inventory/jamf"
	"github.com/outflow-dev/outflow/internal/inventory/osquery"
	"github.com/outflow-dev/outflow/internal/inventory/plaincsv"
)

// Parsers returns one of each built-in parser; on equal scores Detect
// prefers the earlier.
func Parsers() []inventory.Parser {
	return []inventory.Parser{osquery.Parser{}, android.Parser{}, intune.Parser{}, jamf.Parser{}, ios.Parser{}, plaincsv.Parser{}}
}

// MinScore is the lowest Sniff score Detect accepts.
const MinScore = 30

// ErrUnknownFormat is returned when no parser recognises an input.
var ErrUnknownFormat = errors.New("inventory: format not recognised")

// Lookup returns the parser of a format by name.
func Lookup(f inventory.Format) (inventory.Parser, error) {
	for _, p := range Parsers() {
		if p.Format() == f {
			return p, nil
		}
	}
	return nil, fmt.Errorf("inventory: no format %q (have osquery, android, ios, intune, jamf, csv)", f)
}

// Detect returns the parser that scores head highest.
func Detect(head []byte) (inventory.Parser, error) {
	var best inventory.Parser
	bestScore := MinScore - 1
	for _, p := range Parsers() {
		if s := p.Sniff(head); s > bestScore {
			best, bestScore = p, s
		}
	}
	if best == nil {
		return nil, ErrUnknownFormat
	}
	return best, nil
}

// Reader parses r, labelled name, in format (detected when empty), and
// returns the format used. Gzip input is decompressed first.
func Reader(ctx context.Context, r io.Reader, name string, format inventory.Format, visit inventory.Visit) (inventory.Format, error) {
	br := bufio.NewReaderSize(r, inventory.SniffLen)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return format, fmt.Errorf("inventory: %s: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, inventory.SniffLen)
	}
	var p inventory.Parser
	var err error
	if format != "" {
		p, err = Lookup(format)
	} else {
		head, perr := br.Peek(inventory.SniffLen)
		if perr != nil && perr != io.EOF && !errors.Is(perr, bufio.ErrBufferFull) {
			return "", fmt.Errorf("inventory: %s: %w", name, perr)
		}
		p, err = Detect(head)
		if err != nil {
			err = fmt.Errorf("%w: %s", err, name)
		}
	}
	if err != nil {
		return format, err
	}
	return p.Format(), p.Parse(ctx, br, name, visit)
}

// File parses the file at path; see Reader.
func File(ctx context.Context, path string, format inventory.Format, visit inventory.Visit) (inventory.Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return format, fmt.Errorf("inventory: %w", err)
	}
	defer f.Close()
	return Reader(ctx, f, path, format, visit)
}
