package apk

import (
	"errors"
	"fmt"
)

// Limits bound the work and memory spent on one opened file.
type Limits struct {
	// MaxEntries is the most entries one archive may list.
	MaxEntries int
	// MaxEntrySize is the most uncompressed bytes read from one entry.
	MaxEntrySize int64
	// MaxTotalSize is the most uncompressed bytes read from one opened
	// file, nested archives included.
	MaxTotalSize int64
	// MaxRatio is the uncompressed:compressed ratio above which an entry
	// of at least RatioMinSize uncompressed bytes is refused as a bomb.
	MaxRatio     int64
	RatioMinSize int64
	// MaxDepth is how deep Walk descends into archives inside archives
	// (the opened file is depth 0). Negative means no nesting at all.
	MaxDepth int
}

// A zero field in Limits takes its value from DefaultLimits.

// DefaultLimits suit real apps: the largest APKs are a few GiB with DEX
// files of tens of MiB; deflate tops out near 1000:1 only on degenerate
// data, real entries stay under 100:1.
func DefaultLimits() Limits {
	return Limits{
		MaxEntries:   65536,
		MaxEntrySize: 256 << 20,
		MaxTotalSize: 2 << 30,
		MaxRatio:     200,
		RatioMinSize: 1 << 20,
		MaxDepth:     3,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxEntrySize <= 0 {
		l.MaxEntrySize = d.MaxEntrySize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = d.MaxTotalSize
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.RatioMinSize <= 0 {
		l.RatioMinSize = d.RatioMinSize
	}
	switch {
	case l.MaxDepth == 0:
		l.MaxDepth = d.MaxDepth
	case l.MaxDepth < 0:
		l.MaxDepth = 0
	}
	return l
}

// Limit kinds, matched with errors.Is on a *LimitError.
var (
	ErrTooManyEntries   = errors.New("too many entries")
	ErrEntryTooLarge    = errors.New("entry too large")
	ErrTotalTooLarge    = errors.New("total uncompressed size too large")
	ErrCompressionRatio = errors.New("compression ratio too high (zip bomb?)")
	ErrTooDeep          = errors.New("archive nested too deep")
)

// Other sentinel errors.
var (
	// ErrFormat: the input is neither a ZIP archive nor a DEX file, or the
	// ZIP structure is broken.
	ErrFormat = errors.New("not a readable ZIP archive or DEX file")
	// ErrNotFound: no entry of that name.
	ErrNotFound = errors.New("no such entry")
)

// LimitError reports a limit breach.
type LimitError struct {
	File  string // the archive, with "!" between nesting levels
	Entry string // the entry, "" when the archive as a whole is refused
	Err   error  // one of the Err* limit kinds
	Value int64  // what was found (or the least of it)
	Limit int64  // the configured limit
}

func (e *LimitError) Error() string {
	where := e.File
	if e.Entry != "" {
		where += ": " + e.Entry
	}
	return fmt.Sprintf("apk: %s: %v (%d, limit %d)", where, e.Err, e.Value, e.Limit)
}

func (e *LimitError) Unwrap() error { return e.Err }

// FormatError reports an unreadable container or entry.
type FormatError struct {
	File  string
	Entry string
	Err   error
}

func (e *FormatError) Error() string {
	where := e.File
	if e.Entry != "" {
		where += ": " + e.Entry
	}
	return fmt.Sprintf("apk: %s: %v", where, e.Err)
}

// Unwrap returns both ErrFormat and the cause.
func (e *FormatError) Unwrap() []error { return []error{ErrFormat, e.Err} }
