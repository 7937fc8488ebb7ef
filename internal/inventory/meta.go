package inventory

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Meta is what a text export does not say about its device and the user
// adds by convention: header lines of the form
//
//	# device: R58M123ABC
//	# owner: alice@example.com
//	# platform: android
//	# tags: sales, byod
//	# seen: 2025-06-01T09:30:00Z
//
// and, failing a device line, the file name (see DeviceFromName). adb output
// and osqueryi output carry no device id, so their parsers use Meta.
type Meta struct {
	Device   string
	Owner    string
	Platform string
	Tags     []string
	Seen     time.Time
}

// HeaderLine reports whether line is a "# key: value" header and returns
// the lowercased key and trimmed value. Any "#" line is a comment; only
// comments with a key and a colon are headers.
func HeaderLine(line []byte) (key, value string, ok bool) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '#' {
		return "", "", false
	}
	line = bytes.TrimSpace(line[1:])
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", "", false
	}
	k := bytes.TrimSpace(line[:i])
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return "", "", false
		}
	}
	return strings.ToLower(string(k)), string(bytes.TrimSpace(line[i+1:])), true
}

// Set applies one header. Keys other than device, serial, owner, user,
// platform, tags and seen are ignored (they are comments).
func (m *Meta) Set(key, value string) error {
	switch key {
	case "device", "serial", "device-id", "device_id":
		m.Device = value
	case "owner", "user":
		m.Owner = value
	case "platform":
		m.Platform = NormalizePlatform(value)
	case "tags", "groups":
		m.Tags = SplitTags(value)
	case "seen", "date", "time":
		t, err := ParseTime(value)
		if err != nil {
			return fmt.Errorf("header %q: %w", key, err)
		}
		m.Seen = t
	}
	return nil
}

// SplitTags splits a tag list on commas, semicolons and pipes, trims each
// tag and drops empty ones. It returns nil for no tags.
func SplitTags(s string) []string {
	var tags []string
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '|' }) {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"}

// ParseTime accepts RFC 3339 (with or without fraction), "2006-01-02
// 15:04:05" (UTC), a plain date, or Unix seconds.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 1<<40 {
			return time.Time{}, fmt.Errorf("time %q out of range", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read time %q (want RFC 3339, 2006-01-02 15:04:05 or Unix seconds)", s)
}

// DeviceFromName is the file-name convention for the device id: the base
// name without its last extension, so "exports/R58M123ABC.txt" is device
// "R58M123ABC" and "192.168.1.20:5555.txt" (adb over TCP) is
// "192.168.1.20:5555". It returns "" for standard input ("-" or "").
func DeviceFromName(name string) string {
	if name == "" || name == "-" {
		return ""
	}
	base := filepath.Base(name)
	for _, gz := range []string{".gz", ".zst"} {
		base = strings.TrimSuffix(base, gz)
	}
	if ext := filepath.Ext(base); ext != "" && ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	if base == "." || base == string(filepath.Separator) {
		return ""
	}
	return base
}
