package csvtab

import (
	"context"
	"io"

	"github.com/outflow-dev/outflow/internal/inventory"
)

// Export is one console's CSV export as a format package describes it to
// Parser: its name, how far a header says it is this export, and how a
// header becomes the function that reads its rows.
type Export interface {
	// Format names the format.
	Format() inventory.Format
	// Score is Sniff's answer for a header: 0 is not this export.
	Score(h Header) int
	// Rows checks the header's columns and returns the row function
	// (rows intern their strings in in); an error is fatal, as in Scan.
	Rows(h Header, in *inventory.Interner) (RowFunc, error)
}

// Parser is the inventory.Parser of a CSV export E: the opening every CSV
// format shares (the header of the first bytes for Sniff, one Interner a
// Parse, Scan), so that a format package writes only its columns and rows.
type Parser[E Export] struct{}

var _ inventory.Parser = Parser[Export]{}

// Format implements inventory.Parser.
func (Parser[E]) Format() inventory.Format {
	var e E
	return e.Format()
}

// Sniff implements inventory.Parser.
func (Parser[E]) Sniff(head []byte) int {
	h, ok := HeadHeader(head)
	if !ok {
		return 0
	}
	var e E
	return e.Score(h)
}

// Parse implements inventory.Parser.
func (Parser[E]) Parse(ctx context.Context, r io.Reader, name string, visit inventory.Visit) error {
	var e E
	in := inventory.NewInterner(0)
	return Scan(ctx, r, name, e.Format(), in, visit, func(h Header) (RowFunc, error) { return e.Rows(h, in) })
}
