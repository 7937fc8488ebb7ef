// Package inventory is the model for device software inventories: one Item
// per app, package, program or browser extension found on a device, and the
// streaming Parser interface that every input format implements.
//
// Parsers live in sub-packages (osquery, android, ios, intune, jamf,
// plaincsv); package load detects a format from content and runs the right
// one. This package must never import its sub-packages, the catalog, policy
// or any sink: it only turns files into records.
package inventory

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Item is one piece of software seen on one device.
//
// Strings in an Item may be shared with other Items (parsers intern them);
// treat Tags as read-only.
type Item struct {
	Device     string   // stable device id: hostname, serial or MDM device id
	DeviceName string   // human-readable name when Device is an opaque id ("" if same or unknown)
	Owner      string   // user / email if known
	Platform   string   // one of the Platform constants, or the source's own word lowercased
	Kind       string   // one of the Kind constants
	AppID      string   // package name / bundle id / extension id / deb or rpm name / program name
	Name       string   // display name
	Version    string   //
	Publisher  string   // Windows publisher, extension author, deb maintainer...
	Tags       []string // device tags/groups from the source if any
	Source     string   // "file:line" it came from
	Removed    bool     // osquery differential "removed" action
	Seen       time.Time
}

// Platforms.
const (
	Android = "android"
	IOS     = "ios"
	IPadOS  = "ipados"
	MacOS   = "macos"
	Windows = "windows"
	Linux   = "linux"
	Chrome  = "chrome"
	Firefox = "firefox"
)

// Kinds.
const (
	KindApp       = "app"
	KindPackage   = "package"
	KindProgram   = "program"
	KindExtension = "extension"
)

// Format names an input format.
type Format string

// Formats with a parser in a sub-package.
const (
	FormatOsquery  Format = "osquery"
	FormatAndroid  Format = "android"
	FormatIOS      Format = "ios"
	FormatIntune   Format = "intune"
	FormatJamf     Format = "jamf"
	FormatPlainCSV Format = "csv"
)

// Visit receives what a parser finds, in input order: either an Item (err
// nil) or a malformed record (err is a *ParseError naming file and line; the
// Item is zero). Parsing goes on after a malformed record. Returning a
// non-nil error stops the parse, and Parse returns that error.
type Visit func(it Item, err error) error

// Parser turns one input stream into Items.
type Parser interface {
	// Format names the format this parser reads.
	Format() Format
	// Sniff scores how likely head (the first bytes of an input, up to
	// SniffLen) is this format: 0 means no, 100 means certain. It must not
	// panic on any input.
	Sniff(head []byte) int
	// Parse reads r to its end, calling visit for every item and every
	// malformed record. name labels positions (Source, ParseError.File) and
	// may carry the device id by convention (see DeviceFromName). Parse
	// returns nil at the end of input, the error visit returned, ctx's error,
	// or an error that makes the rest of the input unreadable (I/O, a missing
	// CSV header column), wrapped with the format and name.
	Parse(ctx context.Context, r io.Reader, name string, visit Visit) error
}

// SniffLen is how many leading bytes of an input Sniff is given at most.
const SniffLen = 64 << 10

// ParseError is a malformed record: the parser skipped it and went on.
type ParseError struct {
	Format Format
	File   string
	Line   int // 1-based line where the record starts
	Err    error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("inventory: %s: %s:%d: %v", e.Format, e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// CheckEvery is how many records a parser handles between checks of its
// context: often enough to stop promptly, rarely enough to cost nothing.
const CheckEvery = 1024

// NormalizePlatform maps the platform words that MDMs and agents use
// ("iOS", "Mac OS X", "Windows 10 Enterprise", "AndroidForWork") to the
// Platform constants. Words it does not know come back lowercased and
// trimmed.
func NormalizePlatform(s string) string {
	p := strings.ToLower(strings.TrimSpace(s))
	switch {
	case p == "":
		return ""
	case strings.HasPrefix(p, "android"):
		return Android
	case strings.HasPrefix(p, "ipados"), strings.HasPrefix(p, "ipad"):
		return IPadOS
	case strings.HasPrefix(p, "ios"), strings.HasPrefix(p, "iphone"):
		return IOS
	case strings.HasPrefix(p, "macos"), strings.HasPrefix(p, "mac os"), strings.HasPrefix(p, "osx"),
		strings.HasPrefix(p, "os x"), p == "darwin", p == "mac":
		return MacOS
	case strings.HasPrefix(p, "windows"), strings.HasPrefix(p, "win32"), strings.HasPrefix(p, "win64"), p == "win":
		return Windows
	case strings.HasPrefix(p, "linux"), p == "ubuntu", p == "debian", p == "rhel", p == "centos", p == "fedora":
		return Linux
	case p == "chrome", p == "chromium":
		return Chrome
	case p == "firefox":
		return Firefox
	}
	return p
}

// DefaultKind is the Kind of software on a platform when the source does not
// say: apps on phones and Macs, programs on Windows, packages on Linux,
// extensions in browsers.
func DefaultKind(platform string) string {
	switch platform {
	case Windows:
		return KindProgram
	case Linux:
		return KindPackage
	case Chrome, Firefox:
		return KindExtension
	}
	return KindApp
}
