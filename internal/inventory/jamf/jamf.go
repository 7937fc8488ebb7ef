// Package jamf reads Jamf Pro inventory exported as CSV from an advanced
// search: computers (Computer Name, Serial Number, Username, ... with the
// Applications display fields Application Title, Application Version and,
// where the version of Jamf Pro offers it, Application Bundle ID) and mobile
// devices (Display Name or Mobile Device Name, Serial Number, ... with App
// Name, App Version, App Identifier). One row per installed application,
// the device's columns repeated, is what the export gives when an
// application field is displayed.
//
// Names match case- and spacing-insensitively; Department, Building and
// Site become tags "department:NAME" etc.
//
// It must never import another format's package; only the inventory model
// and csvtab.
package jamf

import (
	"bytes"
	"errors"

	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/csvtab"
)

// Column aliases, folded with csvtab.Norm.
var (
	colSerial    = []string{"serialnumber", "serial"}
	colComputer  = []string{"computername"}
	colMobile    = []string{"mobiledevicename", "displayname", "devicename"}
	colJSSID     = []string{"jsscomputerid", "jssmobiledeviceid", "udid"}
	colOwner     = []string{"emailaddress", "email", "username", "fullname", "realname"}
	colApp       = []string{"applicationtitle", "appname", "applicationname"}
	colVersion   = []string{"applicationversion", "appversion", "appshortversion", "applicationshortversion"}
	colBundle    = []string{"applicationbundleid", "bundleid", "bundleidentifier", "appidentifier", "applicationidentifier", "identifier"}
	colOS        = []string{"operatingsystem", "os", "osname", "platform"}
	colModel     = []string{"model", "devicetype", "modelidentifier"}
	tagColumns   = []string{"department", "building", "site"}
	jamfSpecific = []string{"computername", "jsscomputerid", "applicationtitle", "mobiledevicename", "jssmobiledeviceid"}
)

// Parser reads Jamf Pro CSV exports.
type Parser = csvtab.Parser[export]

// export is a Jamf Pro advanced search's CSV, for csvtab.Parser.
type export struct{}

func (export) Format() inventory.Format { return inventory.FormatJamf }

// Score implements csvtab.Export.
func (export) Score(h csvtab.Header) int {
	if !h.Has(colApp...) {
		return 0
	}
	if h.Has(jamfSpecific...) {
		return 90
	}
	if h.Has(colSerial...) && h.Has("displayname") && h.Has("appname") {
		return 80 // Jamf's mobile device field names, above a generic iOS export
	}
	return 0
}

// Rows implements csvtab.Export.
func (export) Rows(h csvtab.Header, in *inventory.Interner) (csvtab.RowFunc, error) {
	p := &rowParser{
		in: in, serial: h.Index(colSerial...), app: h.Index(colApp...),
		version: h.Index(colVersion...), bundle: h.Index(colBundle...), os: h.Index(colOS...), model: h.Index(colModel...),
		devName: h.Index(colComputer...), id: h.Index(colJSSID...),
		platform: inventory.MacOS,
	}
	if p.devName < 0 {
		p.devName = h.Index(colMobile...)
		p.platform = inventory.IOS
	}
	if p.serial < 0 && p.devName < 0 && p.id < 0 {
		return nil, errors.New("need a Serial Number, Computer Name or Display Name column")
	}
	if p.app < 0 && p.bundle < 0 {
		return nil, errors.New("need an Application Title (or App Name) column: display an application field in the search")
	}
	for _, c := range colOwner {
		if i := h.Index(c); i >= 0 {
			p.owners = append(p.owners, i)
		}
	}
	for _, tc := range tagColumns {
		if i := h.Index(tc); i >= 0 {
			p.tagCols = append(p.tagCols, tagCol{i, tc + ":"})
		}
	}
	return p.row, nil
}

type tagCol struct {
	i      int
	prefix string
}

type rowParser struct {
	in                                               *inventory.Interner
	serial, app, version, bundle, os, model, devName int
	owners                                           []int // email, else user name
	id                                               int
	platform                                         string // when the row does not say
	tagCols                                          []tagCol
	tagBuf                                           []byte
}

var errNoDevice = errors.New("empty serial number and device name")

func (p *rowParser) row(f [][]byte, _ int) (inventory.Item, bool, error) {
	app, bundle := csvtab.Field(f, p.app), csvtab.Field(f, p.bundle)
	if len(app) == 0 && len(bundle) == 0 {
		return inventory.Item{}, false, nil // a device without a matching application
	}
	serial, name := csvtab.Field(f, p.serial), csvtab.Field(f, p.devName)
	it := inventory.Item{Device: p.in.Bytes(serial)}
	if it.Device == "" {
		it.Device = p.in.Bytes(csvtab.Field(f, p.id))
	}
	if it.Device == "" {
		it.Device = p.in.Bytes(name)
	} else if !bytes.Equal(name, serial) {
		it.DeviceName = p.in.Bytes(name)
	}
	if it.Device == "" {
		return inventory.Item{}, false, errNoDevice
	}
	for _, i := range p.owners {
		if it.Owner = p.in.Bytes(csvtab.Field(f, i)); it.Owner != "" {
			break
		}
	}
	it.Platform = p.platformOf(f)
	it.Kind = inventory.KindApp
	it.Name = p.in.Bytes(bytes.TrimSuffix(app, []byte(".app")))
	it.AppID = p.in.Bytes(bundle)
	if it.AppID == "" {
		it.AppID = p.in.Bytes(app) // the title, "TikTok.app", is all there is
	}
	it.Version = p.in.Bytes(csvtab.Field(f, p.version))
	if len(p.tagCols) > 0 {
		// "department:Sales,building:HQ" as one key, so every row of a
		// device shares one interned tag slice.
		p.tagBuf = p.tagBuf[:0]
		for _, tc := range p.tagCols {
			if v := csvtab.Field(f, tc.i); len(v) > 0 && !bytes.ContainsAny(v, ",;|") {
				if len(p.tagBuf) > 0 {
					p.tagBuf = append(p.tagBuf, ',')
				}
				p.tagBuf = append(append(p.tagBuf, tc.prefix...), v...)
			}
		}
		it.Tags = p.in.Tags(p.tagBuf)
	}
	return it, true, nil
}

// platformOf reads Operating System ("macOS 14.5.0", "iOS 17.5.1", "iPadOS
// 17.5"), else Model ("iPad Pro (11-inch)"), else the search's kind.
func (p *rowParser) platformOf(f [][]byte) string {
	if os := p.in.Platform(csvtab.Field(f, p.os)); os == inventory.MacOS || os == inventory.IOS || os == inventory.IPadOS {
		return os
	}
	m := csvtab.Field(f, p.model)
	switch {
	case bytes.Contains(m, []byte("iPad")):
		return inventory.IPadOS
	case bytes.Contains(m, []byte("iPhone")):
		return inventory.IOS
	}
	return p.platform
}
