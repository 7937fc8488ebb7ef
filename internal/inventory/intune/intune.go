// Package intune reads Microsoft Intune's discovered-apps exports: the CSV
// of the AppInvRawData report (Apps > Monitor > Discovered apps > Export),
// of AppInvByDevice (a device's Discovered apps) and of DevicesByAppInv,
// whether requested through Graph's exportJobs (column names such as
// ApplicationName, DeviceId) or saved from the admin center (display names
// such as "Application name", "Device ID"). Names match case- and
// spacing-insensitively; unknown columns are ignored.
//
// The aggregate export (AppInvAggregate) lists apps without devices and is
// refused.
//
// It must never import another format's package; only the inventory model
// and csvtab.
package intune

import (
	"bytes"
	"errors"

	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/csvtab"
)

// Column aliases, folded with csvtab.Norm. The first names are those of the
// Intune export API (learn.microsoft.com, "Intune reports and properties
// available using Graph API").
var (
	colDeviceID   = []string{"deviceid", "intunedeviceid", "manageddeviceid"}
	colDeviceName = []string{"devicename", "manageddevicename"}
	colAppName    = []string{"applicationname", "appname", "appdisplayname"}
	colAppID      = []string{"applicationid", "appid", "bundleid", "packageid", "applicationidentifier"}
	colVersion    = []string{"applicationversion", "appversion", "version"}
	colShort      = []string{"applicationshortversion", "appshortversion"}
	colPublisher  = []string{"applicationpublisher", "publisher"}
	colPlatform   = []string{"platformloc", "platform"}
	colOS         = []string{"osdescription", "operatingsystem", "os"}
	colOwner      = []string{"userprincipalname", "upn", "emailaddress", "useremail", "primaryuserupn", "username"}
)

// Parser reads Intune discovered-apps CSV.
type Parser = csvtab.Parser[export]

// export is Intune's discovered-apps CSV, for csvtab.Parser.
type export struct{}

func (export) Format() inventory.Format { return inventory.FormatIntune }

// Score implements csvtab.Export.
func (export) Score(h csvtab.Header) int {
	// Intune says "application"; other exports' "App name" is left to them.
	if !h.Has("applicationname") || !(h.Has(colDeviceID...) || h.Has(colDeviceName...)) {
		return 0
	}
	if h.Has("applicationkey") {
		return 95
	}
	return 80
}

// Rows implements csvtab.Export.
func (export) Rows(h csvtab.Header, in *inventory.Interner) (csvtab.RowFunc, error) {
	c := cols{
		devID: h.Index(colDeviceID...), devName: h.Index(colDeviceName...), app: h.Index(colAppName...),
		appID: h.Index(colAppID...), version: h.Index(colVersion...), short: h.Index(colShort...),
		publisher: h.Index(colPublisher...), platform: h.Index(colPlatform...), os: h.Index(colOS...),
		owner: h.Index(colOwner...),
	}
	if c.devID < 0 && c.devName < 0 {
		if h.Has("devicecount") {
			return nil, errors.New("an aggregate export (AppInvAggregate) has no devices: export the raw data (AppInvRawData)")
		}
		return nil, errors.New("need a Device ID or Device name column")
	}
	if c.app < 0 && c.appID < 0 {
		return nil, errors.New("need an Application name column")
	}
	return (&rowParser{cols: c, in: in}).row, nil
}

type cols struct {
	devID, devName, app, appID, version, short, publisher, platform, os, owner int
}

type rowParser struct {
	cols
	in *inventory.Interner
}

var (
	errNoDevice = errors.New("empty device id and name")
	errNoApp    = errors.New("empty application name")
)

func (p *rowParser) row(f [][]byte, _ int) (inventory.Item, bool, error) {
	id, name := csvtab.Field(f, p.devID), csvtab.Field(f, p.devName)
	it := inventory.Item{Device: p.in.Bytes(id)}
	// The Intune device id is the stable key (many iPhones are named
	// "iPhone"); the name stays for people.
	if it.Device == "" {
		it.Device = p.in.Bytes(name)
	} else if !bytes.Equal(id, name) {
		it.DeviceName = p.in.Bytes(name)
	}
	if it.Device == "" {
		return it, false, errNoDevice
	}
	it.Name = p.in.Bytes(csvtab.Field(f, p.app))
	it.AppID = p.in.Bytes(csvtab.Field(f, p.appID))
	if it.AppID == "" {
		it.AppID = it.Name // Windows programs, and Android/iOS apps listed by name
	}
	if it.AppID == "" {
		return inventory.Item{}, false, errNoApp
	}
	if v := csvtab.Field(f, p.version); len(v) > 0 {
		it.Version = p.in.Bytes(v)
	} else {
		it.Version = p.in.Bytes(csvtab.Field(f, p.short))
	}
	it.Publisher = p.in.Bytes(csvtab.Field(f, p.publisher))
	it.Owner = p.in.Bytes(csvtab.Field(f, p.owner))
	plat := csvtab.Field(f, p.platform)
	if len(plat) == 0 || isNumber(plat) {
		plat = csvtab.Field(f, p.os) // unlocalised exports may give the platform as an enum number
	}
	it.Platform = p.in.Platform(plat)
	it.Kind = inventory.DefaultKind(it.Platform)
	return it, true, nil
}

func isNumber(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
