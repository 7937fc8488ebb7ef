// Package plaincsv reads outflow's own inventory CSV, the format to use when
// no other exporter fits:
//
//	device,owner,platform,app_id,app_name,version,publisher,tags
//	LAPTOP-042,alice@example.com,windows,WeChat,WeChat,3.9.12,Tencent,sales;emea
//
// device and app_id are required; owner, platform, app_name, version,
// publisher, tags (separated by ";", "|" or ","), kind and seen (RFC 3339 or
// Unix seconds) are optional, in any order, matched case-insensitively.
//
// It must never import another format's package; only the inventory model
// and csvtab.
package plaincsv

import (
	"errors"

	"github.com/outflow-dev/outflow/internal/inventory"
	"github.com/outflow-dev/outflow/internal/inventory/csvtab"
)

// Column aliases, folded with csvtab.Norm.
var (
	colDevice    = []string{"device", "deviceid", "hostname", "host", "serial", "serialnumber"}
	colOwner     = []string{"owner", "user", "email", "username"}
	colPlatform  = []string{"platform", "os"}
	colAppID     = []string{"appid", "bundleid", "packagename", "package"}
	colName      = []string{"appname", "name", "displayname"}
	colVersion   = []string{"version", "appversion"}
	colPublisher = []string{"publisher", "vendor", "author"}
	colTags      = []string{"tags", "groups"}
	colKind      = []string{"kind"}
	colSeen      = []string{"seen", "lastseen", "timestamp"}
)

// Parser reads plain inventory CSV.
type Parser = csvtab.Parser[export]

// export is outflow's own inventory CSV, for csvtab.Parser.
type export struct{}

func (export) Format() inventory.Format { return inventory.FormatPlainCSV }

// Score implements csvtab.Export: a header naming device and app_id.
func (export) Score(h csvtab.Header) int {
	if !h.Has("device") || !h.Has("appid") {
		return 0
	}
	if h.Has("platform") {
		return 95
	}
	return 85
}

// Rows implements csvtab.Export.
func (export) Rows(h csvtab.Header, in *inventory.Interner) (csvtab.RowFunc, error) {
	c := cols{
		device: h.Index(colDevice...), owner: h.Index(colOwner...), platform: h.Index(colPlatform...),
		appID: h.Index(colAppID...), name: h.Index(colName...), version: h.Index(colVersion...),
		publisher: h.Index(colPublisher...), tags: h.Index(colTags...), kind: h.Index(colKind...),
		seen: h.Index(colSeen...),
	}
	if c.device < 0 || c.appID < 0 {
		return nil, errors.New("need columns device and app_id")
	}
	rp := &rowParser{cols: c, in: in}
	return rp.row, nil
}

type cols struct {
	device, owner, platform, appID, name, version, publisher, tags, kind, seen int
}

type rowParser struct {
	cols
	in *inventory.Interner
	// The previous row's device-level values, usually the same.
	dev, owner, platRaw, plat, tagsRaw string
	tagList                            []string
}

var (
	errNoDevice = errors.New("empty device")
	errNoAppID  = errors.New("empty app_id")
)

func (p *rowParser) row(f [][]byte, line int) (inventory.Item, bool, error) {
	dev, id := csvtab.Field(f, p.device), csvtab.Field(f, p.appID)
	if len(dev) == 0 {
		return inventory.Item{}, false, errNoDevice
	}
	if len(id) == 0 {
		return inventory.Item{}, false, errNoAppID
	}
	p.dev = p.in.Same(p.dev, dev)
	p.owner = p.in.Same(p.owner, csvtab.Field(f, p.cols.owner))
	if raw := csvtab.Field(f, p.platform); string(raw) != p.platRaw {
		p.platRaw, p.plat = p.in.Bytes(raw), p.in.Platform(raw)
	}
	if raw := csvtab.Field(f, p.tags); string(raw) != p.tagsRaw {
		p.tagsRaw, p.tagList = p.in.Bytes(raw), p.in.Tags(raw)
	}
	it := inventory.Item{
		Device:    p.dev,
		Owner:     p.owner,
		Platform:  p.plat,
		AppID:     p.in.Bytes(id),
		Name:      p.in.Bytes(csvtab.Field(f, p.name)),
		Version:   p.in.Bytes(csvtab.Field(f, p.version)),
		Publisher: p.in.Bytes(csvtab.Field(f, p.publisher)),
		Tags:      p.tagList,
	}
	if k := csvtab.Field(f, p.kind); len(k) > 0 {
		it.Kind = p.in.Bytes(k)
	} else {
		it.Kind = inventory.DefaultKind(it.Platform)
	}
	if s := csvtab.Field(f, p.seen); len(s) > 0 {
		t, err := inventory.ParseTime(string(s))
		if err != nil {
			return inventory.Item{}, false, err
		}
		it.Seen = t
	}
	return it, true, nil
}
