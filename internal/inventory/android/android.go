// Package android reads the package lists adb prints: `pm list packages`
// (plain, -f, -i, -U and --show-versioncode, in any combination) and the
// Packages: section of `dumpsys package`.
//
// adb output does not name its device, so the device id comes from a
// "# device: SERIAL" line (which may appear several times, to concatenate
// devices in one file; each starts afresh, forgetting the previous device's
// owner and tags) or else from the file name: R58M123ABC.txt is device
// R58M123ABC (see inventory.Meta and inventory.DeviceFromName).
//
// It must never import another format's package; only the inventory model.
package android

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/outflow-dev/outflow/internal/inventory"
)

// Parser reads adb package listings.
type Parser struct{}

var _ inventory.Parser = Parser{}

// Format implements inventory.Parser.
func (Parser) Format() inventory.Format { return inventory.FormatAndroid }

// Sniff implements inventory.Parser.
func (Parser) Sniff(head []byte) int {
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Buffer(make([]byte, 0, 4096), len(head)+1)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if bytes.HasPrefix(line, []byte("package:")) {
			return 95
		}
		break
	}
	for _, marker := range []string{"\nPackages:\n", "\n  Package [", "Activity Resolver Table:", "DUMP OF SERVICE package:"} {
		if bytes.Contains(head, []byte(marker)) {
			return 85
		}
	}
	if bytes.HasPrefix(bytes.TrimSpace(head), []byte("Packages:")) {
		return 85
	}
	return 0
}

type mode uint8

const (
	modeUnknown mode = iota
	modePM           // pm list packages: every line is package:...
	modeDumpsys      // dumpsys package: only the Packages: section matters
)

// pkg is a dumpsys Package block being read.
type pkg struct {
	name, label, versionName, versionCode string
	line                                  int
	users, installed                      int
}

type parser struct {
	name      string
	visit     inventory.Visit
	in        *inventory.Interner
	meta      inventory.Meta
	mode      mode
	inPkgs    bool
	cur       *pkg
	noDevice  bool // the missing-device error was reported for the current block
	fileDev   string
	lineCount int
}

// Parse implements inventory.Parser.
func (Parser) Parse(ctx context.Context, r io.Reader, name string, visit inventory.Visit) error {
	p := &parser{name: name, visit: visit, in: inventory.NewInterner(0), fileDev: inventory.DeviceFromName(name)}
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	for {
		line, err := readLine(br, &long)
		if err == io.EOF {
			return p.flush()
		}
		if err != nil {
			return fmt.Errorf("inventory: android: %s: line %d: %w", name, p.lineCount+1, err)
		}
		p.lineCount++
		if p.lineCount%inventory.CheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := p.line(line); err != nil {
			return err
		}
	}
}

func readLine(br *bufio.Reader, long *[]byte) ([]byte, error) {
	b, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		*long = append((*long)[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = br.ReadSlice('\n')
			if len(*long) < 1<<20 {
				*long = append(*long, b...)
			}
		}
		b = *long
	}
	if err == io.EOF && len(b) == 0 {
		return nil, io.EOF
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	return bytes.TrimRight(b, "\r\n"), nil
}

func (p *parser) perr(line int, err error) error {
	return p.visit(inventory.Item{}, &inventory.ParseError{Format: inventory.FormatAndroid, File: p.name, Line: line, Err: err})
}

// line handles one line; it returns only visit's error.
func (p *parser) line(line []byte) error {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 {
		return nil
	}
	if trimmed[0] == '#' && len(line) > 0 && line[0] == '#' {
		k, v, ok := inventory.HeaderLine(trimmed)
		if !ok {
			return nil
		}
		if k == "device" || k == "serial" || k == "device-id" || k == "device_id" {
			// A new device: finish the previous one's last package.
			if err := p.flush(); err != nil {
				return err
			}
			p.mode, p.inPkgs, p.noDevice = modeUnknown, false, false
			// Owner and tags belong to the previous device; the time of
			// the export applies to all.
			p.meta = inventory.Meta{Seen: p.meta.Seen}
		}
		if err := p.meta.Set(k, v); err != nil {
			return p.perr(p.lineCount, err)
		}
		return nil
	}
	if p.mode == modeUnknown {
		if bytes.HasPrefix(trimmed, []byte("package:")) {
			p.mode = modePM
		} else {
			p.mode = modeDumpsys
		}
	}
	if p.mode == modePM {
		return p.pmLine(trimmed)
	}
	return p.dumpsysLine(line, trimmed)
}

var (
	errNotPM   = errors.New(`not a "package:" line`)
	errPkgName = errors.New("not a valid package name")
)

// pmLine reads one line of pm list packages:
//
//	package:com.x
//	package:/data/app/~~AbC==/com.x-XyZ==/base.apk=com.x
//	package:com.x  installer=com.android.vending
//	package:com.x uid:10234
//	package:com.x versionCode:2023405030
func (p *parser) pmLine(line []byte) error {
	rest, ok := bytes.CutPrefix(line, []byte("package:"))
	if !ok {
		return p.perr(p.lineCount, errNotPM)
	}
	fields := bytes.Fields(rest)
	if len(fields) == 0 {
		return p.perr(p.lineCount, errPkgName)
	}
	main := fields[0]
	if i := bytes.LastIndexByte(main, '='); i >= 0 {
		main = main[i+1:] // after the APK path; paths hold '=' (base64), package names never do
	}
	if !validName(main) {
		return p.perr(p.lineCount, fmt.Errorf("%w: %q", errPkgName, main))
	}
	var version []byte
	for _, f := range fields[1:] {
		if v, ok := bytes.CutPrefix(f, []byte("versionCode:")); ok {
			version = v
		} else if bytes.IndexAny(f, ":=") <= 0 {
			return p.perr(p.lineCount, fmt.Errorf("unexpected %q after the package name", f))
		}
	}
	return p.emit(p.lineCount, p.in.Bytes(main), "", p.in.Bytes(version))
}

// validName accepts Android application ids: letters, digits, '_' and '.'.
func validName(b []byte) bool {
	if len(b) == 0 || len(b) > 255 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// dumpsysLine reads the Packages: section of dumpsys package:
//
//	Packages:
//	  Package [com.zhiliaoapp.musically] (a1b2c3d):
//	    versionCode=2023405030 minSdk=21 targetSdk=34
//	    versionName=34.5.3
//	    installerPackageName=com.android.vending
//	    User 0: ceDataInode=1234 installed=true hidden=false ...
func (p *parser) dumpsysLine(line, trimmed []byte) error {
	indented := line[0] == ' ' || line[0] == '\t'
	if !indented {
		if err := p.flush(); err != nil {
			return err
		}
		p.inPkgs = bytes.Equal(trimmed, []byte("Packages:"))
		return nil
	}
	if !p.inPkgs {
		return nil // another section of dumpsys: not ours
	}
	if rest, ok := bytes.CutPrefix(trimmed, []byte("Package [")); ok {
		if err := p.flush(); err != nil {
			return err
		}
		end := bytes.IndexByte(rest, ']')
		if end < 0 || !validName(rest[:end]) {
			return p.perr(p.lineCount, fmt.Errorf("bad Package line %q", trimmed))
		}
		p.cur = &pkg{name: p.in.Bytes(rest[:end]), line: p.lineCount}
		return nil
	}
	if p.cur == nil {
		return nil
	}
	switch {
	case bytes.HasPrefix(trimmed, []byte("versionName=")):
		p.cur.versionName = p.in.Bytes(trimmed[len("versionName="):])
	case bytes.HasPrefix(trimmed, []byte("versionCode=")):
		v := trimmed[len("versionCode="):]
		if i := bytes.IndexByte(v, ' '); i >= 0 {
			v = v[:i]
		}
		p.cur.versionCode = p.in.Bytes(v)
	case bytes.HasPrefix(trimmed, []byte("application-label:")):
		l := bytes.Trim(trimmed[len("application-label:"):], "'")
		p.cur.label = p.in.Bytes(l)
	case bytes.HasPrefix(trimmed, []byte("User ")) && bytes.Contains(trimmed, []byte(": ")):
		p.cur.users++
		if bytes.Contains(trimmed, []byte(" installed=true")) {
			p.cur.installed++
		}
	}
	return nil
}

// flush emits the dumpsys package being read, unless no user has it
// installed (uninstalled with --user keeps the package listed).
func (p *parser) flush() error {
	c := p.cur
	if c == nil {
		return nil
	}
	p.cur = nil
	if c.users > 0 && c.installed == 0 {
		return nil
	}
	v := c.versionName
	if v == "" {
		v = c.versionCode
	}
	return p.emit(c.line, c.name, c.label, v)
}

var errNoDevice = errors.New(`no device id: start the file with "# device: SERIAL" or name it SERIAL.txt`)

func (p *parser) emit(line int, id, label, version string) error {
	dev := p.meta.Device
	if dev == "" {
		dev = p.fileDev
	}
	if dev == "" {
		if p.noDevice {
			return nil
		}
		p.noDevice = true
		return p.perr(line, errNoDevice)
	}
	return p.visit(inventory.Item{
		Device:   p.in.String(dev),
		Owner:    p.meta.Owner,
		Platform: inventory.Android,
		Kind:     inventory.KindApp,
		AppID:    id,
		Name:     label,
		Version:  version,
		Tags:     p.meta.Tags,
		Source:   p.in.Source(p.name, line),
		Seen:     p.meta.Seen,
	}, nil)
}
