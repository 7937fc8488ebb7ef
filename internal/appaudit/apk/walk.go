package apk

import (
	"bytes"
	"errors"
	"io"
	"path"
	"strings"
)

// Item is one thing Walk found: the archive itself, a nested archive, or a
// DEX file.
type Item struct {
	// Path names the item from the opened file down: "app.xapk!base.apk!classes2.dex".
	Path string
	// Entry is the member name within its parent ("" for the opened file).
	Entry string
	Kind  Kind
	Depth int
	// Archive is set for ZIP-based kinds.
	Archive *Archive
	// DEX holds the bytes of a DEX file (read under the limits).
	DEX []byte
	// Err is set, with the other fields filled as far as known, when the
	// member looked like a DEX or archive but could not be read: a
	// *LimitError (too deep, too large, bomb) or a *FormatError. Walk goes
	// on with the next member.
	Err error
}

// SkipArchive, returned by the Walk callback for an archive item, stops Walk
// from descending into it (the fs.SkipDir idiom).
//
//lint:ignore ST1012 named after fs.SkipDir: a control value, not a failure
var SkipArchive = errors.New("skip this archive")

// Walk calls fn for the archive itself, then for every DEX file and every
// nested archive, depth first, descending to Limits.MaxDepth. Members are
// recognised by name (.dex, .apk, .jar, .zip, .aar, .xapk, .apks) or, for
// names that say nothing (assets/a.bin), by their first bytes. A non-nil
// error from fn other than SkipArchive stops the walk and is returned.
func (a *Archive) Walk(fn func(Item) error) error {
	return a.walk(fn, a.name, "")
}

func (a *Archive) walk(fn func(Item) error, p, entry string) error {
	if a.dex {
		b, err := a.ReadFile("classes.dex")
		return fn(Item{Path: p, Entry: entry, Kind: KindDEX, Depth: a.depth, DEX: b, Err: err})
	}
	err := fn(Item{Path: p, Entry: entry, Kind: a.kind, Depth: a.depth, Archive: a})
	if errors.Is(err, SkipArchive) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range a.entries {
		kind, ok := a.sniff(e)
		if !ok {
			continue
		}
		child := p + "!" + e.Name
		if kind == KindDEX {
			b, err := a.ReadFile(e.Name)
			if err := fn(Item{Path: child, Entry: e.Name, Kind: KindDEX, Depth: a.depth + 1, DEX: b, Err: err}); err != nil && !errors.Is(err, SkipArchive) {
				return err
			}
			continue
		}
		na, err := a.OpenNested(e.Name)
		if err != nil {
			if err := fn(Item{Path: child, Entry: e.Name, Kind: KindZIP, Depth: a.depth + 1, Err: err}); err != nil && !errors.Is(err, SkipArchive) {
				return err
			}
			continue
		}
		if err := na.walk(fn, child, e.Name); err != nil {
			return err
		}
	}
	return nil
}

var archiveExts = map[string]bool{".apk": true, ".jar": true, ".zip": true, ".aar": true, ".xapk": true, ".apks": true, ".apkm": true}

// Extensions whose content is never a DEX or a ZIP we want to open; the
// rest are sniffed. Native libraries are the ELF scanner's business.
var skipExts = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".xml": true,
	".arsc": true, ".so": true, ".class": true, ".properties": true, ".version": true,
	".mf": true, ".sf": true, ".rsa": true, ".dsa": true, ".ec": true, ".txt": true,
	".html": true, ".htm": true, ".js": true, ".css": true, ".json": true, ".ttf": true,
	".otf": true, ".mp3": true, ".ogg": true, ".wav": true, ".mp4": true, ".kotlin_module": true,
	".kotlin_builtins": true, ".pro": true, ".svg": true, ".9.png": true,
}

// sniff decides whether a member is a DEX or an archive.
func (a *Archive) sniff(e Entry) (Kind, bool) {
	if strings.HasSuffix(e.Name, "/") || e.Size < 4 {
		return 0, false
	}
	ext := strings.ToLower(path.Ext(e.Name))
	switch {
	case ext == ".dex":
		return KindDEX, true
	case archiveExts[ext]:
		return KindZIP, true
	case skipExts[ext] || strings.HasPrefix(e.Name, "res/") || strings.HasPrefix(e.Name, "META-INF/"):
		return 0, false
	}
	// Four bytes are read without the entry's limits, which bound whole
	// reads: an entry over them must still be recognised, so that reading
	// it fails with a LimitError the caller sees instead of a silent skip.
	rc, err := a.openRaw(e.Name)
	if err != nil {
		return 0, false
	}
	defer rc.Close()
	var head [4]byte
	if _, err := io.ReadFull(rc, head[:]); err != nil {
		return 0, false
	}
	switch {
	case bytes.Equal(head[:], dexMagic) || bytes.Equal(head[:], cdexMagic):
		return KindDEX, true
	case bytes.Equal(head[:], zipMagic) || bytes.Equal(head[:], emptyMagic):
		return KindZIP, true
	}
	return 0, false
}
