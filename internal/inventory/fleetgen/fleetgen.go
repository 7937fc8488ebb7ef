// Package fleetgen generates realistic fleet inventories, in every input
// format, for tests and benchmarks: device i and its app j are pure
// functions of (i, j), so a test can check every Item a parser returns, and
// the exports are streamed, so a benchmark can read 100,000 devices x 200
// apps without holding gigabytes in memory.
//
// Only tests import it. It must never import a parser package; only the
// inventory model.
package fleetgen

import (
	"fmt"
	"io"
	"strconv"

	"github.com/outflow-dev/outflow/internal/inventory"
)

// Fleet describes a generated fleet.
type Fleet struct {
	Devices int
	Apps    int  // per device
	Mobile  bool // include Android and iOS devices (else desktops only, as osquery sees)
}

// Device is a generated device.
type Device struct {
	ID, Name, Owner, Platform string
	Tags                      []string
}

// App is a generated app.
type App struct {
	ID, Name, Version, Publisher string
}

// BannedEvery: every BannedEvery-th device (0, 50, 100...) carries its
// platform's app of concern (TikTok, WeChat...) as app 0; no other device
// carries it.
const BannedEvery = 50

var tagSets = [][]string{{"sales", "emea"}, {"engineering"}, {"byod", "apac"}, nil}

// Device returns device i.
func (f Fleet) Device(i int) Device {
	p := f.platform(i)
	d := Device{Platform: p, Owner: fmt.Sprintf("user%05d@example.com", i), Tags: tagSets[i%len(tagSets)]}
	switch p {
	case inventory.Windows:
		d.ID = fmt.Sprintf("LAPTOP-%05d", i)
	case inventory.MacOS:
		d.ID = fmt.Sprintf("C02%07dJGH5", i)
	case inventory.Linux:
		d.ID = fmt.Sprintf("srv-%05d", i)
	case inventory.Android:
		d.ID = fmt.Sprintf("R58M%06d", i)
	case inventory.IOS:
		d.ID = fmt.Sprintf("F2LX%06d", i)
	}
	d.Name = "host-" + strconv.Itoa(i)
	return d
}

func (f Fleet) platform(i int) string {
	r := i % 20
	if !f.Mobile {
		switch {
		case r < 10:
			return inventory.Windows
		case r < 17:
			return inventory.MacOS
		}
		return inventory.Linux
	}
	switch {
	case r < 8:
		return inventory.Windows
	case r < 12:
		return inventory.MacOS
	case r < 14:
		return inventory.Linux
	case r < 18:
		return inventory.Android
	}
	return inventory.IOS
}

// catalog returns the catalog size for the fleet (at least Apps+1).
func (f Fleet) catalogSize() int { return max(f.Apps+1, 300) }

// appIndex is the catalog entry of app j on device i: distinct for each j;
// entry 0 (the app of concern) only on every BannedEvery-th device.
func (f Fleet) appIndex(i, j int) int {
	n := f.catalogSize()
	if i%BannedEvery == 0 {
		return j
	}
	return 1 + (j+i*7)%(n-1)
}

// App returns app j of device i.
func (f Fleet) App(i, j int) App {
	return appAt(f.platform(i), f.appIndex(i, j), i%3)
}

type base struct{ id, name, publisher string }

// Real names first (entry 0 is the app of concern), then a long tail.
var bases = map[string][]base{
	inventory.Windows: {{"WeChat", "WeChat", "Tencent"}, {"Google Chrome", "Google Chrome", "Google LLC"},
		{"Microsoft Edge", "Microsoft Edge", "Microsoft Corporation"}, {"7-Zip 23.01 (x64)", "7-Zip", "Igor Pavlov"},
		{"Zoom Workplace", "Zoom Workplace", "Zoom Video Communications, Inc."}, {"Kingsoft WPS Office", "WPS Office", "Kingsoft Corp."}},
	inventory.MacOS: {{"com.zhiliaoapp.musically", "TikTok", ""}, {"com.google.Chrome", "Google Chrome", ""},
		{"com.tinyspeck.slackmacgap", "Slack", ""}, {"com.microsoft.VSCode", "Visual Studio Code", ""}, {"com.tencent.meeting", "TencentMeeting", ""}},
	inventory.Linux: {{"wemeet", "wemeet", "Tencent Meeting <wemeet@tencent.com>"}, {"curl", "curl", "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>"},
		{"openssl", "openssl", "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>"}, {"osquery", "osquery", "osquery <osquery@osquery.io>"}},
	inventory.Android: {{"com.zhiliaoapp.musically", "TikTok", ""}, {"com.whatsapp", "WhatsApp", ""}, {"com.tencent.mm", "WeChat", ""},
		{"com.xingin.xhs", "RED", ""}, {"com.google.android.gm", "Gmail", ""}},
	inventory.IOS: {{"com.zhiliaoapp.musically", "TikTok", ""}, {"net.whatsapp.WhatsApp", "WhatsApp", ""},
		{"com.xingin.discover", "Xiaohongshu", ""}, {"com.google.Gmail", "Gmail", ""}},
}

func appAt(platform string, k, variant int) App {
	b := bases[platform]
	var a App
	if k < len(b) {
		a = App{ID: b[k].id, Name: b[k].name, Publisher: b[k].publisher}
	} else {
		v := k % 97
		switch platform {
		case inventory.Windows:
			a = App{ID: fmt.Sprintf("Vendor%02d Tool %d", v, k), Name: fmt.Sprintf("Vendor%02d Tool %d", v, k), Publisher: fmt.Sprintf("Vendor%02d Software Ltd.", v)}
		case inventory.Linux:
			a = App{ID: fmt.Sprintf("lib-vendor%02d-%d", v, k), Name: fmt.Sprintf("lib-vendor%02d-%d", v, k), Publisher: fmt.Sprintf("Vendor%02d <pkg@vendor%02d.example>", v, v)}
		default:
			a = App{ID: fmt.Sprintf("com.vendor%02d.app%d", v, k), Name: fmt.Sprintf("App %d", k)}
		}
	}
	a.Version = fmt.Sprintf("%d.%d.%d", 1+k%9, k%13, variant)
	return a
}

// stream is an io.Reader that renders one device at a time.
type stream struct {
	n      int
	i      int
	buf    []byte
	off    int
	render func(buf []byte, i int) []byte
}

func (s *stream) Read(p []byte) (int, error) {
	for s.off == len(s.buf) {
		if s.i >= s.n {
			return 0, io.EOF
		}
		s.buf = s.render(s.buf[:0], s.i)
		s.off = 0
		s.i++
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

// rowCache renders the device-independent part of each row once.
type rowCache struct {
	rows   map[string][][]byte // platform -> (k*3+variant) -> rendered
	render func(platform string, a App) []byte
}

func (c *rowCache) get(platform string, k, variant int, n int) []byte {
	if c.rows == nil {
		c.rows = map[string][][]byte{}
	}
	rs := c.rows[platform]
	if rs == nil {
		rs = make([][]byte, n*3)
		c.rows[platform] = rs
	}
	r := rs[k*3+variant]
	if r == nil {
		r = c.render(platform, appAt(platform, k, variant))
		rs[k*3+variant] = r
	}
	return r
}

// Size returns the number of bytes r produces (reading it to the end).
func Size(r io.Reader) int64 {
	n, _ := io.Copy(io.Discard, r)
	return n
}
