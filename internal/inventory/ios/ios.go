// Package ios reads installed-app lists of iPhones and iPads exported from an
// MDM, as CSV or JSON.
//
// CSV: one row per app, with a bundle id column (Bundle ID, Bundle
// Identifier, Identifier, App Identifier, App ID) and a device column (UDID,
// Serial Number, Device ID, Device, Device Name); optional App Name / Name,
// Short Version / Version, User / Email / User Principal Name, Platform /
// OS / Model, Tags. Names match case- and spacing-insensitively.
//
// JSON: Apple's InstalledApplicationList command response (the dictionary
// an MDM server receives, as JSON: UDID and InstalledApplicationList of
// {Identifier, Name, ShortVersion, Version, ...}), one object, an array of
// them, or one per line; or flat rows of device and app keys as in the CSV.
// A device object may add SerialNumber, DeviceName, UserName, Model and
// Tags.
//
// It must never import another format's package; only the inventory model
// and csvtab.
package ios

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/csvtab"
)

// Parser reads iOS MDM app exports: JSON itself, CSV through the
// csvtab.Parser it embeds, which also names the format.
type Parser struct{ csvtab.Parser[csvExport] }

// csvExport is an MDM's CSV export, for csvtab.Parser.
type csvExport struct{}

func (csvExport) Format() inventory.Format { return inventory.FormatIOS }

// Field aliases, folded with csvtab.Norm, for CSV columns and JSON keys.
var (
	keyBundle   = []string{"identifier", "bundleid", "bundleidentifier", "appidentifier", "applicationidentifier", "applicationbundleid", "appid"}
	keyDevice   = []string{"udid", "serialnumber", "deviceid", "device"}
	keyDevName  = []string{"devicename", "displayname"}
	keyAppName  = []string{"name", "appname", "applicationname", "bundlename"}
	keyVersion  = []string{"shortversion", "appshortversion", "bundleshortversion", "version", "appversion", "applicationversion"}
	keyOwner    = []string{"userprincipalname", "email", "emailaddress", "username", "user", "owner"}
	keyPlatform = []string{"platform", "os", "osname", "operatingsystem"}
	keyModel    = []string{"model", "modelname", "productname", "devicemodel"}
	keyTags     = []string{"tags", "groups"}
	keyAppList  = []string{"installedapplicationlist", "apps", "applications", "installedapps"}
)

// MaxJSON is the largest JSON export read (it is read whole).
const MaxJSON = 512 << 20

// Sniff implements inventory.Parser.
func (p Parser) Sniff(head []byte) int {
	body := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	if len(body) > 0 && (body[0] == '{' || body[0] == '[') {
		switch {
		case bytes.Contains(body, []byte(`"InstalledApplicationList"`)):
			return 95
		case bytes.Contains(body, []byte(`"Identifier"`)) && bytes.Contains(body, []byte(`"ShortVersion"`)):
			return 90
		}
		for _, k := range []string{`"bundleId"`, `"BundleID"`, `"bundle_id"`, `"BundleIdentifier"`, `"bundleIdentifier"`, `"BundleId"`} {
			if bytes.Contains(body, []byte(k)) {
				return 70
			}
		}
		return 0
	}
	return p.Parser.Sniff(head)
}

// Score implements csvtab.Export.
func (csvExport) Score(h csvtab.Header) int {
	if !h.Has(keyBundle...) || !(h.Has(keyDevice...) || h.Has(keyDevName...)) {
		return 0
	}
	if h.Index(keyBundle...) == h.Index("appid") {
		return 40 // "app_id" alone is as likely outflow's plain CSV
	}
	return 75
}

// Parse implements inventory.Parser: JSON if the input starts with '{' or
// '[', CSV otherwise.
func (p Parser) Parse(ctx context.Context, r io.Reader, name string, visit inventory.Visit) error {
	br := newPeeker(r)
	c, err := br.first()
	if err != nil {
		return fmt.Errorf("inventory: ios: %s: %w", name, err)
	}
	if c == '{' || c == '[' {
		in := inventory.NewInterner(0)
		data, err := io.ReadAll(io.LimitReader(br, MaxJSON+1))
		if err != nil {
			return fmt.Errorf("inventory: ios: %s: %w", name, err)
		}
		if len(data) > MaxJSON {
			return fmt.Errorf("inventory: ios: %s: JSON larger than %d bytes", name, MaxJSON)
		}
		data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		return (&jsonReader{name: name, data: data, in: in, visit: visit}).read(ctx)
	}
	return p.Parser.Parse(ctx, br, name, visit)
}

// Rows implements csvtab.Export.
func (csvExport) Rows(h csvtab.Header, in *inventory.Interner) (csvtab.RowFunc, error) {
	c := csvCols{
		bundle: h.Index(keyBundle...), device: h.Index(keyDevice...), devName: h.Index(keyDevName...),
		name: h.Index(keyAppName...), version: h.Index(keyVersion...), owner: h.Index(keyOwner...),
		platform: h.Index(keyPlatform...), model: h.Index(keyModel...), tags: h.Index(keyTags...),
	}
	if c.bundle < 0 {
		return nil, errors.New("need a bundle id column (Bundle ID, Identifier, App Identifier)")
	}
	if c.device < 0 && c.devName < 0 {
		return nil, errors.New("need a device column (UDID, Serial Number, Device ID, Device Name)")
	}
	return func(f [][]byte, _ int) (inventory.Item, bool, error) {
		d := device{
			id: in.Bytes(csvtab.Field(f, c.device)), name: in.Bytes(csvtab.Field(f, c.devName)),
			owner: in.Bytes(csvtab.Field(f, c.owner)), tags: in.Tags(csvtab.Field(f, c.tags)),
		}
		d.platform = platformOf(in.Platform(csvtab.Field(f, c.platform)), csvtab.Field(f, c.model))
		return d.item(in.Bytes(csvtab.Field(f, c.bundle)), in.Bytes(csvtab.Field(f, c.name)), in.Bytes(csvtab.Field(f, c.version)))
	}, nil
}

type csvCols struct {
	bundle, device, devName, name, version, owner, platform, model, tags int
}

// device is what a row or a device object says about its device.
type device struct {
	id, name, owner, platform string
	tags                      []string
}

var (
	errNoDevice = errors.New("no device id or name")
	errNoBundle = errors.New("empty bundle id")
)

func (d device) item(bundle, name, version string) (inventory.Item, bool, error) {
	it := inventory.Item{Device: d.id, DeviceName: d.name, Owner: d.owner, Platform: d.platform, Kind: inventory.KindApp,
		AppID: bundle, Name: name, Version: version, Tags: d.tags}
	if it.Device == "" {
		it.Device, it.DeviceName = it.DeviceName, ""
	}
	if it.DeviceName == it.Device {
		it.DeviceName = ""
	}
	if it.Device == "" {
		return inventory.Item{}, false, errNoDevice
	}
	if it.AppID == "" {
		return inventory.Item{}, false, errNoBundle
	}
	return it, true, nil
}

// platformOf settles iOS, iPadOS or macOS from the platform word and the
// model ("iPad13,4", "iPad Pro", "MacBookPro18,3"); iOS by default.
func platformOf(p string, model []byte) string {
	switch p {
	case inventory.IOS, inventory.IPadOS, inventory.MacOS:
		if p != inventory.IOS || !bytes.HasPrefix(model, []byte("iPad")) {
			return p
		}
	}
	switch {
	case bytes.HasPrefix(model, []byte("iPad")):
		return inventory.IPadOS
	case bytes.HasPrefix(model, []byte("Mac")), bytes.HasPrefix(model, []byte("iMac")):
		return inventory.MacOS
	}
	return inventory.IOS
}

// jsonReader walks a JSON export held in memory, one top-level object (or
// array element) at a time, so that a malformed one is reported with its
// line and the rest still read.
type jsonReader struct {
	name    string
	data    []byte
	in      *inventory.Interner
	visit   inventory.Visit
	line    int // line of lineAt
	lineAt  int
	objects int
}

func (jr *jsonReader) lineOf(off int) int {
	jr.line += bytes.Count(jr.data[jr.lineAt:off], []byte{'\n'})
	jr.lineAt = off
	return jr.line + 1
}

func (jr *jsonReader) perr(off int, err error) error {
	return jr.visit(inventory.Item{}, &inventory.ParseError{Format: inventory.FormatIOS, File: jr.name, Line: jr.lineOf(off), Err: err})
}

func (jr *jsonReader) read(ctx context.Context) error {
	data, i := jr.data, 0
	inArray := false
	skip := func() {
		for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n' || data[i] == ',') {
			i++
		}
	}
	skip()
	if i < len(data) && data[i] == '[' {
		inArray = true
		i++
	}
	for {
		skip()
		if i >= len(data) {
			if inArray {
				return jr.perr(i, errors.New("JSON array not closed"))
			}
			return nil
		}
		if inArray && data[i] == ']' {
			i++
			skip()
			if i < len(data) {
				return jr.perr(i, errors.New("data after the JSON array"))
			}
			return nil
		}
		if data[i] != '{' {
			if err := jr.perr(i, fmt.Errorf("unexpected %q: want an object", data[i])); err != nil {
				return err
			}
			if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
				i += j + 1
				continue
			}
			return nil
		}
		end := matchBrace(data, i)
		if end < 0 {
			return jr.perr(i, errors.New("object not closed at end of input"))
		}
		if jr.objects++; jr.objects%inventory.CheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := jr.object(i, data[i:end]); err != nil {
			return err
		}
		i = end
	}
}

// matchBrace returns the offset just past the object starting at data[i].
func matchBrace(data []byte, i int) int {
	var j inventory.JSONDepth
	for ; i < len(data); i++ {
		if j.Step(data[i]) {
			return i + 1
		}
	}
	return -1
}

// object reads one device object or flat row; it returns only visit's
// error.
func (jr *jsonReader) object(off int, b []byte) error {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return jr.perr(off, err)
	}
	f := fold(obj)
	d := device{
		id: jr.str(f, keyDevice), name: jr.str(f, keyDevName), owner: jr.str(f, keyOwner),
		tags: jr.tags(f),
	}
	d.platform = platformOf(jr.in.Platform([]byte(jr.str(f, keyPlatform))), []byte(jr.str(f, keyModel)))
	var apps []any
	for _, k := range keyAppList {
		if v, ok := f[k]; ok {
			list, ok := v.([]any)
			if !ok {
				return jr.perr(off, fmt.Errorf("%s is not a list", k))
			}
			apps = list
			break
		}
	}
	src := jr.in.Source(jr.name, jr.lineOf(off))
	emit := func(app map[string]any) error {
		it, ok, err := d.item(jr.str(app, keyBundle), jr.str(app, keyAppName), jr.str(app, keyVersion))
		if err != nil {
			return jr.perr(off, err)
		}
		if ok {
			it.Source = src
			return jr.visit(it, nil)
		}
		return nil
	}
	if apps == nil {
		if jr.str(f, keyBundle) == "" {
			return jr.perr(off, errors.New("neither an InstalledApplicationList nor a bundle id"))
		}
		return emit(f) // a flat row: device and app keys together
	}
	for _, a := range apps {
		m, ok := a.(map[string]any)
		if !ok {
			if err := jr.perr(off, errors.New("app list entry is not an object")); err != nil {
				return err
			}
			continue
		}
		if err := emit(fold(m)); err != nil {
			return err
		}
	}
	return nil
}

// fold re-keys an object by csvtab.Norm.
func fold(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[csvtab.Norm([]byte(k))] = v
	}
	return out
}

// str returns the first of keys with a string or number value.
func (jr *jsonReader) str(m map[string]any, keys []string) string {
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			if v = strings.TrimSpace(v); v != "" {
				return jr.in.String(v)
			}
		case json.Number:
			return jr.in.String(v.String())
		}
	}
	return ""
}

func (jr *jsonReader) tags(m map[string]any) []string {
	for _, k := range keyTags {
		switch v := m[k].(type) {
		case string:
			return jr.in.Tags([]byte(v))
		case []any:
			var parts []string
			for _, t := range v {
				if s, ok := t.(string); ok {
					parts = append(parts, s)
				}
			}
			return jr.in.Tags([]byte(strings.Join(parts, ",")))
		}
	}
	return nil
}

// peeker is a reader that can look at its first non-blank byte.
type peeker struct {
	r   io.Reader
	buf []byte
}

func newPeeker(r io.Reader) *peeker { return &peeker{r: r} }

// first reads until a non-blank byte and returns it (0 at end of input),
// keeping everything read for Read.
func (p *peeker) first() (byte, error) {
	tmp := make([]byte, 512)
	for {
		for _, c := range p.buf {
			switch c {
			case ' ', '\t', '\r', '\n', 0xef, 0xbb, 0xbf:
			default:
				return c, nil
			}
		}
		n, err := p.r.Read(tmp)
		p.buf = append(p.buf, tmp[:n]...)
		if err == io.EOF {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if len(p.buf) > 1<<20 {
			return 0, nil
		}
	}
}

func (p *peeker) Read(b []byte) (int, error) {
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		return n, nil
	}
	return p.r.Read(b)
}
