package osquery

import (
	"bytes"

	"github.com/outflow-dev/outflow/internal/inventory"
)

// table is an osquery table this package turns into Items.
type table uint8

const (
	tableUnknown table = iota
	tableApps
	tablePrograms
	tableDeb
	tableRPM
	tableChrome
	tableFirefox
	nTables
)

var tableNames = [nTables]string{"", "apps", "programs", "deb_packages", "rpm_packages", "chrome_extensions", "firefox_addons"}

func (t table) String() string { return tableNames[t] }

// platform and kind of what each table lists.
var tablePlatform = [nTables]string{"", inventory.MacOS, inventory.Windows, inventory.Linux, inventory.Linux, inventory.Chrome, inventory.Firefox}
var tableKind = [nTables]string{"", inventory.KindApp, inventory.KindProgram, inventory.KindPackage, inventory.KindPackage, inventory.KindExtension, inventory.KindExtension}

// signature returns the table a column belongs to alone among the six
// (from the osquery schema: specs/darwin/apps.table, windows/programs.table,
// linux/deb_packages.table, linux/rpm_packages.table, chrome_extensions.table,
// posix/firefox_addons.table). Shared columns (name, version, path, arch,
// source, uid, identifier, description...) say nothing.
func signature(col []byte) table {
	switch string(col) {
	case "bundle_identifier", "bundle_short_version", "bundle_version", "bundle_executable", "bundle_name",
		"bundle_package_type", "minimum_system_version", "applescript_enabled", "last_opened_time",
		"development_region", "info_string", "element", "compiler", "copyright":
		return tableApps
	case "identifying_number", "uninstall_string", "install_source", "install_location", "install_date",
		"publisher", "language":
		return tablePrograms
	case "maintainer", "revision", "priority", "section", "admindir":
		return tableDeb
	case "release", "epoch", "vendor", "sha1", "package_group":
		return tableRPM
	case "browser_type", "profile", "profile_path", "referenced_identifier", "update_url", "persistent",
		"permissions", "optional_permissions", "manifest_hash", "from_webstore", "author", "default_locale",
		"current_locale", "locale", "install_timestamp", "referenced":
		return tableChrome
	case "creator", "source_url", "visible", "active", "disabled", "autoupdate", "native", "location":
		return tableFirefox
	}
	return tableUnknown
}

// detect names the table of a row: by its columns when they are
// unambiguous, else by the query name ("pack_inventory_chrome_extensions").
func detect(row []kv, query []byte) table {
	var votes [nTables]int
	for _, m := range row {
		votes[signature(m.k)]++
	}
	best, tie := tableUnknown, false
	for t := tableApps; t < nTables; t++ {
		switch {
		case votes[t] == 0:
		case best == tableUnknown || votes[t] > votes[best]:
			best, tie = t, false
		case votes[t] == votes[best]:
			tie = true
		}
	}
	if best != tableUnknown && !tie {
		return best
	}
	if t := fromQueryName(query); t != tableUnknown {
		return t
	}
	if tie {
		return tableUnknown // guessing would be worse than skipping
	}
	return best
}

func fromQueryName(q []byte) table {
	if len(q) == 0 {
		return tableUnknown
	}
	var low [256]byte
	n := copy(low[:], q)
	b := low[:n]
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	switch {
	case bytes.Contains(b, []byte("chrome")):
		return tableChrome
	case bytes.Contains(b, []byte("firefox")):
		return tableFirefox
	case bytes.Contains(b, []byte("deb_packages")):
		return tableDeb
	case bytes.Contains(b, []byte("rpm_packages")):
		return tableRPM
	case bytes.Contains(b, []byte("programs")):
		return tablePrograms
	case bytes.Contains(b, []byte("apps")):
		return tableApps
	}
	return tableUnknown
}

func get(row []kv, col string) []byte {
	for _, m := range row {
		if string(m.k) == col {
			return m.v
		}
	}
	return nil
}

func first(row []kv, cols ...string) []byte {
	for _, c := range cols {
		if v := get(row, c); len(v) > 0 {
			return v
		}
	}
	return nil
}
