package apk

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"time"
)

// Kind is what a container is.
type Kind int

// Container kinds.
const (
	KindZIP  Kind = iota // a ZIP with nothing Android-specific
	KindAPK              // has AndroidManifest.xml
	KindXAPK             // manifest.json plus APKs (APKPure and similar stores)
	KindAPKS             // split-APK set: APKs only (.apks from bundletool, .apkm)
	KindJAR              // Java archive (META-INF/MANIFEST.MF or .class files)
	KindAAR              // Android library: text manifest plus classes.jar
	KindDEX              // a bare DEX file
)

var kindNames = [...]string{"zip", "apk", "xapk", "apks", "jar", "aar", "dex"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Entry is one archive member, as the central directory declares it.
type Entry struct {
	Name           string
	Method         uint16 // 0 stored, 8 deflate; others are inflated anyway
	CompressedSize uint64
	Size           uint64
	CRC32          uint32
	Modified       time.Time
	// Encrypted is the general-purpose bit 0, which Android ignores (the
	// data is not really encrypted; the flag only stops other tools).
	Encrypted bool
}

// Archive is an opened container. Its methods may be called from several
// goroutines; Close must be called once no reader is in use.
type Archive struct {
	name     string
	kind     Kind
	depth    int
	lim      Limits
	used     *atomic.Int64 // uncompressed bytes read, shared by nested archives
	ra       io.ReaderAt
	size     int64
	zr       *zip.Reader
	entries  []Entry
	index    map[string]int // name -> position in entries and zfiles
	zfiles   []*zip.File
	dex      bool
	closer   io.Closer
	warnings []string
}

var (
	dexMagic   = []byte("dex\n")
	cdexMagic  = []byte("cdex")
	zipMagic   = []byte("PK\x03\x04")
	emptyMagic = []byte("PK\x05\x06")
)

// Open opens the file at path.
func Open(path string, lim Limits) (*Archive, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("apk: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("apk: %w", err)
	}
	a, err := NewReader(path, f, st.Size(), lim)
	if err != nil {
		f.Close()
		return nil, err
	}
	a.closer = f
	return a, nil
}

// NewReader opens a container held in r. name is used in errors only.
func NewReader(name string, r io.ReaderAt, size int64, lim Limits) (*Archive, error) {
	used := new(atomic.Int64)
	return newArchive(name, r, size, lim.withDefaults(), used, 0)
}

func newArchive(name string, r io.ReaderAt, size int64, lim Limits, used *atomic.Int64, depth int) (*Archive, error) {
	a := &Archive{name: name, depth: depth, lim: lim, used: used, ra: r, size: size}
	var head [4]byte
	n, _ := r.ReadAt(head[:], 0)
	if n == 4 && (bytes.Equal(head[:], dexMagic) || bytes.Equal(head[:], cdexMagic)) {
		if size > lim.MaxEntrySize {
			return nil, &LimitError{File: name, Entry: "classes.dex", Err: ErrEntryTooLarge, Value: size, Limit: lim.MaxEntrySize}
		}
		a.kind, a.dex = KindDEX, true
		a.entries = []Entry{{Name: "classes.dex", CompressedSize: uint64(size), Size: uint64(size)}}
		return a, nil
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && zr != nil) {
		return nil, &FormatError{File: name, Err: err}
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, &LimitError{File: name, Err: ErrTooManyEntries, Value: int64(len(zr.File)), Limit: int64(lim.MaxEntries)}
	}
	a.zr = zr
	a.index = make(map[string]int, len(zr.File))
	a.entries = make([]Entry, 0, len(zr.File))
	odd := map[uint16]bool{}
	for _, f := range zr.File {
		if _, dup := a.index[f.Name]; dup {
			// libziparchive refuses duplicate names; keep the first one,
			// which is what the central directory lookup of most tools sees.
			a.warn("duplicate entry %q (Android refuses such APKs)", f.Name)
			continue
		}
		a.index[f.Name] = len(a.entries)
		a.zfiles = append(a.zfiles, f)
		if f.Method != zip.Store && f.Method != zip.Deflate && !odd[f.Method] {
			odd[f.Method] = true
			a.warn("entry %q: compression method %d read as deflate, as Android does", f.Name, f.Method)
		}
		a.entries = append(a.entries, Entry{
			Name: f.Name, Method: f.Method, CompressedSize: f.CompressedSize64,
			Size: f.UncompressedSize64, CRC32: f.CRC32, Modified: f.Modified,
			Encrypted: f.Flags&1 != 0,
		})
	}
	for m := range odd {
		zr.RegisterDecompressor(m, func(r io.Reader) io.ReadCloser { return flate.NewReader(r) })
	}
	a.kind = a.classify()
	return a, nil
}

func (a *Archive) warn(format string, args ...any) {
	if len(a.warnings) < 100 {
		a.warnings = append(a.warnings, fmt.Sprintf(format, args...))
	}
}

func (a *Archive) classify() Kind {
	var apks, classes int
	for _, e := range a.entries {
		switch {
		case strings.HasSuffix(e.Name, ".apk"):
			apks++
		case strings.HasSuffix(e.Name, ".class"):
			classes++
		}
	}
	switch {
	case a.Has("AndroidManifest.xml") && a.Has("classes.jar") && !a.Has("classes.dex"):
		return KindAAR
	case a.Has("AndroidManifest.xml"):
		return KindAPK
	case apks > 0 && a.Has("manifest.json"):
		return KindXAPK
	case apks > 0:
		return KindAPKS
	case classes > 0 || a.Has("META-INF/MANIFEST.MF"):
		return KindJAR
	}
	return KindZIP
}

// Name is the path the archive was opened as; nested archives are named
// "outer!entry".
func (a *Archive) Name() string { return a.name }

// Kind is the detected container kind.
func (a *Archive) Kind() Kind { return a.kind }

// Depth is 0 for an opened file, 1 for an archive inside it, and so on.
func (a *Archive) Depth() int { return a.depth }

// Entries lists the members in central-directory order (a bare DEX has one,
// "classes.dex"). The slice must not be modified.
func (a *Archive) Entries() []Entry { return a.entries }

// Names lists the member names in central-directory order.
func (a *Archive) Names() []string {
	out := make([]string, len(a.entries))
	for i, e := range a.entries {
		out[i] = e.Name
	}
	return out
}

// Has reports whether the archive has a member of that name.
func (a *Archive) Has(name string) bool {
	if a.dex {
		return name == "classes.dex"
	}
	_, ok := a.index[name]
	return ok
}

// Warnings lists what was tolerated while opening (duplicate names, odd
// compression methods).
func (a *Archive) Warnings() []string { return a.warnings }

// ReaderAt returns the raw container bytes, for signature-block parsing.
func (a *Archive) ReaderAt() (io.ReaderAt, int64) { return a.ra, a.size }

// Close releases the file opened by Open. Nested archives hold no file.
func (a *Archive) Close() error {
	if a.closer != nil {
		c := a.closer
		a.closer = nil
		return c.Close()
	}
	return nil
}

// check applies the per-entry limits to the declared sizes.
func (a *Archive) check(e Entry) error {
	if e.Size > uint64(a.lim.MaxEntrySize) {
		return &LimitError{File: a.name, Entry: e.Name, Err: ErrEntryTooLarge, Value: int64(min(e.Size, 1<<62)), Limit: a.lim.MaxEntrySize}
	}
	if e.Method != zip.Store && e.Size >= uint64(a.lim.RatioMinSize) {
		if e.CompressedSize == 0 || e.Size/e.CompressedSize > uint64(a.lim.MaxRatio) {
			ratio := int64(e.Size)
			if e.CompressedSize > 0 {
				ratio = int64(e.Size / e.CompressedSize)
			}
			return &LimitError{File: a.name, Entry: e.Name, Err: ErrCompressionRatio, Value: ratio, Limit: a.lim.MaxRatio}
		}
	}
	if left := a.lim.MaxTotalSize - a.used.Load(); int64(e.Size) > left {
		return &LimitError{File: a.name, Entry: e.Name, Err: ErrTotalTooLarge, Value: a.used.Load() + int64(e.Size), Limit: a.lim.MaxTotalSize}
	}
	return nil
}

// Entry returns the member named name.
func (a *Archive) Entry(name string) (Entry, bool) {
	if a.dex {
		if name == "classes.dex" {
			return a.entries[0], true
		}
		return Entry{}, false
	}
	i, ok := a.index[name]
	if !ok {
		return Entry{}, false
	}
	return a.entries[i], true
}

// Open returns a reader of the member's uncompressed bytes, after checking
// the declared sizes against the limits; the reader itself stops with a
// *LimitError if the data runs past them.
func (a *Archive) Open(name string) (io.ReadCloser, error) {
	e, ok := a.Entry(name)
	if !ok {
		return nil, &FormatError{File: a.name, Entry: name, Err: ErrNotFound}
	}
	if err := a.check(e); err != nil {
		return nil, err
	}
	rc, err := a.openRaw(name)
	if err != nil {
		return nil, err
	}
	return &limitedReader{rc: rc, a: a, entry: name, left: min(int64(e.Size), a.lim.MaxEntrySize), limit: a.lim.MaxEntrySize}, nil
}

// openRaw returns a reader of the member's uncompressed bytes, no limit
// applied.
func (a *Archive) openRaw(name string) (io.ReadCloser, error) {
	if a.dex {
		return io.NopCloser(io.NewSectionReader(a.ra, 0, a.size)), nil
	}
	r, err := a.zfiles[a.index[name]].Open()
	if err != nil {
		return nil, &FormatError{File: a.name, Entry: name, Err: err}
	}
	return r, nil
}

// ReadPrefix reads a member that a parser needs whole but that may be
// larger than the compression-ratio check allows (a padded manifest
// deflates far better than any real file): it is bounded by limit
// instead (and by MaxEntrySize when that is smaller), and counts toward
// MaxTotalSize. A member of at most limit bytes is returned whole with a
// nil error; a larger one as its first limit bytes with a *LimitError
// (ErrEntryTooLarge), so that the caller can still read what a prefix
// holds and must still report the entry as not read. Memory stays within
// limit whatever the entry declares.
func (a *Archive) ReadPrefix(name string, limit int64) ([]byte, error) {
	e, ok := a.Entry(name)
	if !ok {
		return nil, &FormatError{File: a.name, Entry: name, Err: ErrNotFound}
	}
	limit = max(min(limit, a.lim.MaxEntrySize), 1)
	want := min(int64(min(e.Size, 1<<62)), limit)
	if left := a.lim.MaxTotalSize - a.used.Load(); want > left {
		return nil, &LimitError{File: a.name, Entry: name, Err: ErrTotalTooLarge, Value: a.used.Load() + want, Limit: a.lim.MaxTotalSize}
	}
	rc, err := a.openRaw(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := bytes.NewBuffer(make([]byte, 0, int(want)+1))
	_, err = buf.ReadFrom(&limitedReader{rc: rc, a: a, entry: name, left: limit, limit: limit})
	var le *LimitError
	switch {
	case err == nil && e.Size > uint64(limit):
		// The data ended at the limit but the entry declares more (what
		// archive/zip would refuse at the end, unread here).
		err = &LimitError{File: a.name, Entry: name, Err: ErrEntryTooLarge, Value: int64(min(e.Size, 1<<62)), Limit: limit}
	case errors.As(err, &le) && errors.Is(err, ErrEntryTooLarge) && e.Size > uint64(limit):
		le.Value = int64(min(e.Size, 1<<62)) // the declared size says more than "limit+1"
	}
	return buf.Bytes(), err
}

// ReadFile reads a whole member under the limits.
func (a *Archive) ReadFile(name string) ([]byte, error) {
	rc, err := a.Open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	e, _ := a.Entry(name)
	buf := bytes.NewBuffer(make([]byte, 0, int(min(e.Size, uint64(a.lim.MaxEntrySize)))+1))
	if _, err := buf.ReadFrom(rc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type limitedReader struct {
	rc    io.ReadCloser
	a     *Archive
	entry string
	left  int64
	limit int64 // the limit left was set from, for the error
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// archive/zip itself fails an entry longer than declared; this is
		// the backstop for the bare-DEX path and for safety.
		var one [1]byte
		if n, _ := l.rc.Read(one[:]); n > 0 {
			return 0, &LimitError{File: l.a.name, Entry: l.entry, Err: ErrEntryTooLarge, Value: l.limit + 1, Limit: l.limit}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	if total := l.a.used.Add(int64(n)); total > l.a.lim.MaxTotalSize {
		return n, &LimitError{File: l.a.name, Entry: l.entry, Err: ErrTotalTooLarge, Value: total, Limit: l.a.lim.MaxTotalSize}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = &FormatError{File: l.a.name, Entry: l.entry, Err: err}
	}
	return n, err
}

func (l *limitedReader) Close() error { return l.rc.Close() }

// OpenNested opens a member as an archive of its own (an APK inside an
// XAPK, a JAR in assets/), reading it into memory under the limits.
func (a *Archive) OpenNested(name string) (*Archive, error) {
	if a.depth+1 > a.lim.MaxDepth {
		return nil, &LimitError{File: a.name, Entry: name, Err: ErrTooDeep, Value: int64(a.depth + 1), Limit: int64(a.lim.MaxDepth)}
	}
	b, err := a.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return newArchive(a.name+"!"+name, bytes.NewReader(b), int64(len(b)), a.lim, a.used, a.depth+1)
}

// Base returns the APK that carries the app's main manifest: the archive
// itself for an APK, else the base split of an XAPK or split set
// ("base.apk", "base-master.apk" or "<package>.apk"), or its largest APK.
func (a *Archive) Base() (*Archive, error) {
	switch a.kind {
	case KindAPK:
		return a, nil
	case KindXAPK, KindAPKS:
	default:
		return nil, &FormatError{File: a.name, Err: fmt.Errorf("a %s has no base APK", a.kind)}
	}
	best, bestScore := "", -1
	var bestSize uint64
	for _, e := range a.entries {
		if !strings.HasSuffix(e.Name, ".apk") {
			continue
		}
		score := 0
		switch b := path.Base(e.Name); {
		case b == "base.apk" || b == "base-master.apk":
			score = 2
		case !strings.Contains(b, "config.") && !strings.HasPrefix(b, "split_"):
			score = 1
		}
		if score > bestScore || score == bestScore && e.Size > bestSize {
			best, bestScore, bestSize = e.Name, score, e.Size
		}
	}
	if best == "" {
		return nil, &FormatError{File: a.name, Err: errors.New("no .apk inside")}
	}
	return a.OpenNested(best)
}
