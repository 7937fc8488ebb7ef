package fleetgen

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/inventory"
)

// Seen is the time osquery events carry.
var Seen = time.Date(2025, 6, 2, 9, 30, 0, 0, time.UTC)

func quoteCSV(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// PlainCSV streams the fleet as outflow's plain CSV.
func (f Fleet) PlainCSV() io.Reader {
	c := &rowCache{render: func(_ string, a App) []byte {
		return []byte("," + quoteCSV(a.ID) + "," + quoteCSV(a.Name) + "," + quoteCSV(a.Version) + "," + quoteCSV(a.Publisher) + ",")
	}}
	header := "device,owner,platform,app_id,app_name,version,publisher,tags\n"
	return &stream{n: f.Devices, render: func(buf []byte, i int) []byte {
		if i == 0 {
			buf = append(buf, header...)
		}
		d := f.Device(i)
		prefix := d.ID + "," + d.Owner + "," + d.Platform
		tags := strings.Join(d.Tags, ";") + "\n"
		for j := 0; j < f.Apps; j++ {
			buf = append(buf, prefix...)
			buf = append(buf, c.get(d.Platform, f.appIndex(i, j), i%3, f.catalogSize())...)
			buf = append(buf, tags...)
		}
		return buf
	}}
}

// ExpectPlainCSV is the Item the plain CSV parser returns for app j of
// device i (Source aside).
func (f Fleet) ExpectPlainCSV(i, j int) inventory.Item {
	d, a := f.Device(i), f.App(i, j)
	return inventory.Item{Device: d.ID, Owner: d.Owner, Platform: d.Platform, Kind: inventory.DefaultKind(d.Platform),
		AppID: a.ID, Name: a.Name, Version: a.Version, Publisher: a.Publisher, Tags: d.Tags}
}

// OsqueryIncluded reports whether device i is in the osquery log
// (desktops only).
func (f Fleet) OsqueryIncluded(i int) bool {
	p := f.platform(i)
	return p == inventory.Windows || p == inventory.MacOS || p == inventory.Linux
}

func jsonStr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// OsqueryLog streams the fleet as an osqueryd result log: one snapshot
// line per desktop, of the query that table's platform answers (programs,
// apps, deb_packages), with the columns a fleet would schedule.
func (f Fleet) OsqueryLog() io.Reader {
	c := &rowCache{render: func(p string, a App) []byte {
		switch p {
		case inventory.Windows:
			return []byte(`{"identifying_number":"","install_location":"","name":` + jsonStr(a.Name) + `,"publisher":` + jsonStr(a.Publisher) + `,"version":` + jsonStr(a.Version) + `}`)
		case inventory.MacOS:
			return []byte(`{"bundle_identifier":` + jsonStr(a.ID) + `,"bundle_short_version":` + jsonStr(a.Version) + `,"name":` + jsonStr(a.Name+".app") + `,"path":` + jsonStr("/Applications/"+a.Name+".app") + `}`)
		}
		return []byte(`{"arch":"amd64","maintainer":` + jsonStr(a.Publisher) + `,"name":` + jsonStr(a.Name) + `,"version":` + jsonStr(a.Version) + `}`)
	}}
	query := map[string]string{inventory.Windows: "pack/Global/programs", inventory.MacOS: "pack/Global/apps", inventory.Linux: "pack/Global/deb_packages"}
	unix := strconv.FormatInt(Seen.Unix(), 10)
	cal := Seen.Format("Mon Jan _2 15:04:05 2006 MST")
	return &stream{n: f.Devices, render: func(buf []byte, i int) []byte {
		if !f.OsqueryIncluded(i) {
			return buf
		}
		d := f.Device(i)
		buf = append(buf, `{"snapshot":[`...)
		for j := 0; j < f.Apps; j++ {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, c.get(d.Platform, f.appIndex(i, j), i%3, f.catalogSize())...)
		}
		buf = append(buf, `],"action":"snapshot","name":"`...)
		buf = append(buf, query[d.Platform]...)
		buf = append(buf, `","hostIdentifier":"`...)
		buf = append(buf, d.ID...)
		buf = append(buf, `","calendarTime":"`...)
		buf = append(buf, cal...)
		buf = append(buf, `","unixTime":`...)
		buf = append(buf, unix...)
		buf = append(buf, `,"epoch":0,"counter":0,"numerics":false,"decorations":{"host_uuid":"`...)
		buf = append(buf, d.ID...)
		buf = append(buf, `","hostname":"`...)
		buf = append(buf, d.Name...)
		buf = append(buf, "\"}}\n"...)
		return buf
	}}
}

// ExpectOsquery is the Item the osquery parser returns for app j of device
// i (Source aside).
func (f Fleet) ExpectOsquery(i, j int) inventory.Item {
	d, a := f.Device(i), f.App(i, j)
	it := inventory.Item{Device: d.ID, DeviceName: d.Name, Platform: d.Platform, Kind: inventory.DefaultKind(d.Platform),
		AppID: a.ID, Name: a.Name, Version: a.Version, Publisher: a.Publisher, Seen: Seen}
	if d.Platform == inventory.MacOS {
		it.Kind, it.Publisher = inventory.KindApp, ""
	} else {
		it.AppID = a.Name
	}
	if d.Platform == inventory.Linux {
		it.Kind = inventory.KindPackage
	}
	return it
}

// IntuneCSV streams the fleet as an Intune AppInvRawData export (every
// device, mobile ones included when the fleet has them).
func (f Fleet) IntuneCSV() io.Reader {
	c := &rowCache{render: func(p string, a App) []byte {
		return []byte("k," + quoteCSV(a.Name) + "," + quoteCSV(a.Publisher) + "," + quoteCSV(a.Version) + "," + quoteCSV(a.Version) + ",")
	}}
	platform := map[string]string{inventory.Windows: "Windows", inventory.MacOS: "macOS", inventory.Linux: "Linux",
		inventory.Android: "AndroidForWork", inventory.IOS: "iOS"}
	header := "ApplicationKey,ApplicationName,ApplicationPublisher,ApplicationShortVersion,ApplicationVersion,DeviceId,DeviceName,OSDescription,OSVersion,Platform,UserId,EmailAddress,UserName\n"
	return &stream{n: f.Devices, render: func(buf []byte, i int) []byte {
		if i == 0 {
			buf = append(buf, header...)
		}
		d := f.Device(i)
		suffix := IntuneID(i) + "," + d.Name + "," + platform[d.Platform] + ",1.0," + platform[d.Platform] + ",u," + d.Owner + ",User\n"
		for j := 0; j < f.Apps; j++ {
			buf = append(buf, c.get(d.Platform, f.appIndex(i, j), i%3, f.catalogSize())...)
			buf = append(buf, suffix...)
		}
		return buf
	}}
}

// IntuneID is device i's Intune device id.
func IntuneID(i int) string {
	s := strconv.FormatInt(int64(i), 16)
	return "0f3c5e1a-7b2d-4c9e-8a61-" + strings.Repeat("0", 12-len(s)) + s
}

// ExpectIntune is the Item the Intune parser returns for app j of device i.
func (f Fleet) ExpectIntune(i, j int) inventory.Item {
	d, a := f.Device(i), f.App(i, j)
	return inventory.Item{Device: IntuneID(i), DeviceName: d.Name, Owner: d.Owner, Platform: d.Platform,
		Kind: inventory.DefaultKind(d.Platform), AppID: a.Name, Name: a.Name, Version: a.Version, Publisher: a.Publisher}
}

// AndroidPM streams the Android devices as concatenated `pm list packages
// -f` outputs, each after a "# device:" line.
func (f Fleet) AndroidPM() io.Reader {
	c := &rowCache{render: func(_ string, a App) []byte {
		return []byte("package:/data/app/~~c2FsdA==/" + a.ID + "-aGFzaA==/base.apk=" + a.ID + "\n")
	}}
	return &stream{n: f.Devices, render: func(buf []byte, i int) []byte {
		d := f.Device(i)
		if d.Platform != inventory.Android {
			return buf
		}
		buf = append(buf, "# device: "+d.ID+"\n"...)
		for j := 0; j < f.Apps; j++ {
			buf = append(buf, c.get(d.Platform, f.appIndex(i, j), i%3, f.catalogSize())...)
		}
		return buf
	}}
}

// ExpectAndroid is the Item the android parser returns for app j of device i.
func (f Fleet) ExpectAndroid(i, j int) inventory.Item {
	d, a := f.Device(i), f.App(i, j)
	return inventory.Item{Device: d.ID, Platform: inventory.Android, Kind: inventory.KindApp, AppID: a.ID}
}

// JamfCSV streams the Macs as a Jamf Pro advanced computer search export.
func (f Fleet) JamfCSV() io.Reader {
	c := &rowCache{render: func(_ string, a App) []byte {
		return []byte(quoteCSV(a.Name+".app") + "," + a.Version + "," + a.ID + "\n")
	}}
	header := "Computer Name,Serial Number,Username,Email Address,Department,Operating System,Application Title,Application Version,Application Bundle ID\n"
	return &stream{n: f.Devices, render: func(buf []byte, i int) []byte {
		if i == 0 {
			buf = append(buf, header...)
		}
		d := f.Device(i)
		if d.Platform != inventory.MacOS {
			return buf
		}
		prefix := d.Name + "," + d.ID + ",user" + strconv.Itoa(i) + "," + d.Owner + ",Sales,macOS 14.5.0,"
		for j := 0; j < f.Apps; j++ {
			buf = append(buf, prefix...)
			buf = append(buf, c.get(d.Platform, f.appIndex(i, j), i%3, f.catalogSize())...)
		}
		return buf
	}}
}

// ExpectJamf is the Item the jamf parser returns for app j of Mac i.
func (f Fleet) ExpectJamf(i, j int) inventory.Item {
	d, a := f.Device(i), f.App(i, j)
	return inventory.Item{Device: d.ID, DeviceName: d.Name, Owner: d.Owner, Platform: inventory.MacOS, Kind: inventory.KindApp,
		AppID: a.ID, Name: a.Name, Version: a.Version, Tags: []string{"department:Sales"}}
}
