package elfscan

import "io"

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// MatchesDir reports whether the library's machine fits the ABI directory
// it was found in (see PathABI). A mismatch, such as x86 code under
// lib/arm64-v8a, is never loaded there and is worth a look. 32-bit ARM code
// of either architecture version fits both armeabi and armeabi-v7a: old
// code runs on newer cores, and the reverse is a build mistake, not a trick.
func (i *Info) MatchesDir(dir string) bool {
	if dir == "" || dir == "arm" { // not Android ABI directory names
		return false
	}
	if i.ABI == dir {
		return true
	}
	arm := func(s string) bool { return s == "arm" || s == "armeabi" || s == "armeabi-v7a" }
	return arm(i.ABI) && arm(dir)
}

// Marks scans one library with the default limits and returns its marks,
// the name-based ones included. When the file cannot be read as ELF the
// marks of its name are still returned, with the error.
func Marks(fileName string, r io.ReaderAt, size int64) ([]Mark, error) {
	info, err := Scan(fileName, r, size, DefaultLimits())
	if err != nil {
		return NameMarks(fileName), err
	}
	return info.Marks, nil
}

// Rules returns a copy of the table of marks, for documentation and for
// rules that want to list what is recognised.
func Rules() []Rule { return append([]Rule(nil), rules...) }
