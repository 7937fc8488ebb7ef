package alert

import (
	"strconv"
	"strings"
)

// CEF identifies the device in every line's header.
const (
	cefVendor  = "outflow"
	cefProduct = "outflow"
)

var (
	// Header fields: backslash and pipe escaped; line breaks have no
	// escape there and become spaces.
	cefHeaderEscaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "\r\n", " ", "\n", " ", "\r", " ")
	// Extension values: backslash and equals escaped, line breaks as \n
	// and \r.
	cefExtEscaper = strings.NewReplacer(`\`, `\\`, "=", `\=`, "\r\n", `\r\n`, "\n", `\n`, "\r", `\r`)
)

// CEF is the alert as one ArcSight Common Event Format line (no newline):
// CEF:0|outflow|outflow|version|kind|title|severity|extension.
func CEF(a *Alert, version string) string {
	var b strings.Builder
	h := func(s string) { b.WriteString(cefHeaderEscaper.Replace(s)); b.WriteByte('|') }
	b.WriteString("CEF:0|")
	h(cefVendor)
	h(cefProduct)
	h(version)
	h(string(a.Kind))
	h(a.Title())
	h(strconv.Itoa(a.cefSeverity()))
	first := true
	ext := func(k, v string) {
		if v == "" {
			return
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(cefExtEscaper.Replace(v))
	}
	ext("rt", strconv.FormatInt(a.Time.UnixMilli(), 10))
	if a.Device.IsValid() {
		ext("src", a.Device.String())
	}
	ext("shost", a.DeviceName)
	ext("cs1Label", "entity")
	ext("cs1", a.Entity)
	if a.EntityName != "" {
		ext("cs2Label", "entityName")
		ext("cs2", a.EntityName)
	}
	if a.Jurisdiction != "" {
		ext("cs3Label", "jurisdiction")
		ext("cs3", a.Jurisdiction)
	}
	if a.Rule != "" {
		ext("cs4Label", "rule")
		ext("cs4", a.Rule)
	}
	if a.Site != "" {
		ext("cs5Label", "site")
		ext("cs5", a.Site)
	}
	if len(a.Evidence) > 0 {
		ev := make([]string, len(a.Evidence))
		for i, e := range a.Evidence {
			ev[i] = e.Kind + ":" + e.Value
		}
		ext("cs6Label", "evidence")
		ext("cs6", strings.Join(ev, " "))
	}
	if !a.Deadline.IsZero() {
		ext("deviceCustomDate1Label", "deadline")
		ext("deviceCustomDate1", strconv.FormatInt(a.Deadline.UnixMilli(), 10))
	}
	if a.Bytes > 0 {
		ext("out", strconv.FormatUint(a.Bytes, 10))
	}
	ext("msg", a.Text())
	return b.String()
}
