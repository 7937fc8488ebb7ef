package axml

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNotManifest is returned by DecodeManifest when the root element is not
// <manifest> (aapt: "manifest does not start with <manifest> tag").
var ErrNotManifest = errors.New("root element is not <manifest>")

// Manifest is what an audit needs from AndroidManifest.xml. Numbers absent
// from the file are 0 (Android's own default for versionCode); tri-state
// flags are nil when the attribute is absent.
type Manifest struct {
	Package            string
	VersionCode        int64 // versionCodeMajor<<32 | versionCode
	VersionName        string
	VersionNameRef     uint32 // set when versionName is a @string reference
	MinSDK             int
	MinSDKCodename     string // preview codename instead of a number ("Q")
	TargetSDK          int
	TargetSDKCodename  string
	MaxSDK             int
	CompileSDK         int
	CompileSDKCodename string
	PlatformBuild      string // platformBuildVersionName, written by aapt
	SharedUserID       string
	InstallLocation    int // 0 auto, 1 internalOnly, 2 preferExternal; -1 absent

	UsesPermissions []UsesPermission
	Permissions     []Permission
	UsesFeatures    []string
	UsesLibraries   []string
	// Queries lists the <queries> package names (apps this one looks for).
	Queries []string

	Application     Application
	Activities      []Component
	ActivityAliases []Component
	Services        []Component
	Receivers       []Component
	Providers       []Component
	// Warnings carries the parser's warnings about the binary file.
	Warnings []string
}

// UsesPermission is a <uses-permission> or <uses-permission-sdk-23>.
type UsesPermission struct {
	Name   string
	MaxSDK int
	SDK23  bool // declared with <uses-permission-sdk-23>
}

// Permission is a <permission> the app declares.
type Permission struct {
	Name            string
	ProtectionLevel string // "normal", "dangerous", "signature|privileged"...
}

// Application holds <application> attributes and meta-data.
type Application struct {
	Name                  string // Application subclass, fully qualified
	Label                 string
	LabelRef              uint32 // set when the label is a @string reference
	Debuggable            *bool
	AllowBackup           *bool
	UsesCleartextTraffic  *bool
	TestOnly              *bool
	ExtractNativeLibs     *bool
	NetworkSecurityConfig uint32 // @xml/... reference, 0 if absent
	AppComponentFactory   string
	Process               string
	Permission            string
	MetaData              []MetaData
}

// Component is an activity, activity-alias, service, receiver or provider.
type Component struct {
	Kind           string // element name: "activity", "service", ...
	Name           string // fully qualified class name
	Exported       *bool  // nil when not declared; see IsExported
	Enabled        *bool
	Permission     string
	Process        string
	Authorities    string // providers
	TargetActivity string // activity-alias
	IntentFilters  []IntentFilter
	MetaData       []MetaData
}

// IntentFilter is one <intent-filter>.
type IntentFilter struct {
	Actions    []string
	Categories []string
	MIMETypes  []string
	Schemes    []string
	Hosts      []string
	Paths      []string // path, pathPrefix and pathPattern values
	Priority   int
}

// MetaData is a <meta-data>.
type MetaData struct {
	Name     string
	Value    string // formatted value; empty for resource references
	ValueRef uint32 // android:value="@string/..." reference
	Resource uint32 // android:resource reference
}

// Resolver resolves string resources (arsc.Table implements it).
type Resolver interface {
	ResolveString(id uint32) (string, bool)
}

// Resolve fills the label, version name and meta-data values that are
// references, using r. Unresolvable references stay as they are.
func (m *Manifest) Resolve(r Resolver) {
	if r == nil {
		return
	}
	if m.Application.LabelRef != 0 {
		if s, ok := r.ResolveString(m.Application.LabelRef); ok {
			m.Application.Label = s
		}
	}
	if m.VersionNameRef != 0 {
		if s, ok := r.ResolveString(m.VersionNameRef); ok {
			m.VersionName = s
		}
	}
	resolveMeta := func(md []MetaData) {
		for i := range md {
			if md[i].ValueRef != 0 {
				if s, ok := r.ResolveString(md[i].ValueRef); ok {
					md[i].Value = s
				}
			}
		}
	}
	resolveMeta(m.Application.MetaData)
	for _, list := range [][]Component{m.Activities, m.ActivityAliases, m.Services, m.Receivers, m.Providers} {
		for i := range list {
			resolveMeta(list[i].MetaData)
		}
	}
}

// ParseManifest parses a binary AndroidManifest.xml and decodes it.
func ParseManifest(data []byte) (*Manifest, error) {
	d, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return DecodeManifest(d)
}

// DecodeManifest extracts the Manifest from a parsed document. Attributes
// are found by resource id first (see Element.Attr), so obfuscated
// attribute names do not hide anything Android itself would read.
func DecodeManifest(d *Document) (*Manifest, error) {
	root := d.Root
	if root == nil || localName(root.Name) != "manifest" {
		name := ""
		if root != nil {
			name = root.Name
		}
		return nil, fmt.Errorf("axml: %w (found <%s>)", ErrNotManifest, name)
	}
	m := &Manifest{InstallLocation: -1, Warnings: d.Warnings}
	if a, ok := root.AttrByName("package"); ok {
		m.Package = strings.TrimSpace(a.Value.String())
	}
	if v, ok := root.AttrValue(AttrVersionCode); ok {
		n, _ := v.Int()
		m.VersionCode = n & 0xffffffff
		if major, ok := root.AttrValue(AttrVersionCodeMajor); ok {
			mj, _ := major.Int()
			m.VersionCode |= (mj & 0xffffffff) << 32
		}
	}
	if v, ok := root.AttrValue(AttrVersionName); ok {
		if v.IsReference() {
			m.VersionNameRef = v.Data
		} else {
			m.VersionName = v.String()
		}
	}
	if v, ok := root.AttrValue(AttrCompileSDKVersion); ok {
		m.CompileSDK, _ = intOf(v)
	} else if a, ok := root.AttrByName("platformBuildVersionCode"); ok {
		m.CompileSDK, _ = intOf(a.Value)
	}
	if v, ok := root.AttrValue(AttrCompileSDKCodename); ok {
		m.CompileSDKCodename = v.String()
	} else if a, ok := root.AttrByName("platformBuildVersionName"); ok {
		m.CompileSDKCodename = a.Value.String()
	}
	if a, ok := root.AttrByName("platformBuildVersionName"); ok {
		m.PlatformBuild = a.Value.String()
	}
	if v, ok := root.AttrValue(AttrSharedUserID); ok {
		m.SharedUserID = v.String()
	}
	if v, ok := root.AttrValue(AttrInstallLocation); ok {
		m.InstallLocation, _ = intOf(v)
	}
	for _, c := range root.Children {
		switch localName(c.Name) {
		case "uses-sdk":
			if v, ok := c.AttrValue(AttrMinSDKVersion); ok {
				m.MinSDK, m.MinSDKCodename = sdkOf(v)
			}
			if v, ok := c.AttrValue(AttrTargetSDKVersion); ok {
				m.TargetSDK, m.TargetSDKCodename = sdkOf(v)
			}
			if v, ok := c.AttrValue(AttrMaxSDKVersion); ok {
				m.MaxSDK, _ = sdkOf(v)
			}
		case "uses-permission", "uses-permission-sdk-23", "uses-permission-sdk-m":
			p := UsesPermission{Name: str(c, AttrName), SDK23: localName(c.Name) != "uses-permission"}
			if v, ok := c.AttrValue(AttrMaxSDKVersion); ok {
				p.MaxSDK, _ = intOf(v)
			}
			if p.Name != "" {
				m.UsesPermissions = append(m.UsesPermissions, p)
			}
		case "permission":
			p := Permission{Name: str(c, AttrName)}
			if v, ok := c.AttrValue(AttrProtectionLevel); ok {
				p.ProtectionLevel = protectionLevel(v)
			}
			if p.Name != "" {
				m.Permissions = append(m.Permissions, p)
			}
		case "uses-feature":
			if s := str(c, AttrName); s != "" {
				m.UsesFeatures = append(m.UsesFeatures, s)
			}
		case "queries":
			for _, q := range c.Children {
				if localName(q.Name) == "package" {
					if s := str(q, AttrName); s != "" {
						m.Queries = append(m.Queries, s)
					}
				}
			}
		case "application":
			m.application(c)
		}
	}
	return m, nil
}

func (m *Manifest) application(e *Element) {
	app := &m.Application
	if v, ok := e.AttrValue(AttrName); ok {
		app.Name = m.className(v.String())
	}
	if v, ok := e.AttrValue(AttrLabel); ok {
		if v.IsReference() {
			app.LabelRef = v.Data
		} else {
			app.Label = v.String()
		}
	}
	app.Debuggable = boolAttr(e, AttrDebuggable)
	app.AllowBackup = boolAttr(e, AttrAllowBackup)
	app.UsesCleartextTraffic = boolAttr(e, AttrUsesCleartextTraffic)
	app.TestOnly = boolAttr(e, AttrTestOnly)
	app.ExtractNativeLibs = boolAttr(e, AttrExtractNativeLibs)
	if v, ok := e.AttrValue(AttrNetworkSecurityConfig); ok && v.IsReference() {
		app.NetworkSecurityConfig = v.Data
	}
	if s := str(e, AttrAppComponentFactory); s != "" {
		app.AppComponentFactory = m.className(s)
	}
	app.Process = str(e, AttrProcess)
	app.Permission = str(e, AttrPermission)
	for _, c := range e.Children {
		kind := localName(c.Name)
		switch kind {
		case "meta-data":
			app.MetaData = append(app.MetaData, metaData(c))
		case "uses-library":
			if s := str(c, AttrName); s != "" {
				m.UsesLibraries = append(m.UsesLibraries, s)
			}
		case "activity", "activity-alias", "service", "receiver", "provider":
			comp := m.component(kind, c)
			switch kind {
			case "activity":
				m.Activities = append(m.Activities, comp)
			case "activity-alias":
				m.ActivityAliases = append(m.ActivityAliases, comp)
			case "service":
				m.Services = append(m.Services, comp)
			case "receiver":
				m.Receivers = append(m.Receivers, comp)
			case "provider":
				m.Providers = append(m.Providers, comp)
			}
		}
	}
}

func (m *Manifest) component(kind string, e *Element) Component {
	c := Component{
		Kind:        kind,
		Name:        m.className(str(e, AttrName)),
		Exported:    boolAttr(e, AttrExported),
		Enabled:     boolAttr(e, AttrEnabled),
		Permission:  str(e, AttrPermission),
		Process:     str(e, AttrProcess),
		Authorities: str(e, AttrAuthorities),
	}
	if kind == "activity-alias" {
		// android:targetActivity = 0x01010202
		if v, ok := e.Attr(0x01010202, "targetActivity"); ok {
			c.TargetActivity = m.className(v.Value.String())
		}
	}
	for _, ch := range e.Children {
		switch localName(ch.Name) {
		case "intent-filter":
			c.IntentFilters = append(c.IntentFilters, intentFilter(ch))
		case "meta-data":
			c.MetaData = append(c.MetaData, metaData(ch))
		}
	}
	return c
}

func intentFilter(e *Element) IntentFilter {
	var f IntentFilter
	if v, ok := e.AttrValue(AttrPriority); ok {
		f.Priority, _ = intOf(v)
	}
	for _, ch := range e.Children {
		switch localName(ch.Name) {
		case "action":
			if s := str(ch, AttrName); s != "" {
				f.Actions = append(f.Actions, s)
			}
		case "category":
			if s := str(ch, AttrName); s != "" {
				f.Categories = append(f.Categories, s)
			}
		case "data":
			if s := str(ch, AttrMIMEType); s != "" {
				f.MIMETypes = append(f.MIMETypes, s)
			}
			if s := str(ch, AttrScheme); s != "" {
				f.Schemes = append(f.Schemes, s)
			}
			if s := str(ch, AttrHost); s != "" {
				f.Hosts = append(f.Hosts, s)
			}
			for _, id := range []uint32{AttrPath, AttrPathPrefix, AttrPathPattern} {
				if s := str(ch, id); s != "" {
					f.Paths = append(f.Paths, s)
				}
			}
		}
	}
	return f
}

func metaData(e *Element) MetaData {
	md := MetaData{Name: str(e, AttrName)}
	if v, ok := e.AttrValue(AttrValue); ok {
		if v.IsReference() {
			md.ValueRef = v.Data
		} else {
			md.Value = v.String()
		}
	}
	if v, ok := e.AttrValue(AttrResource); ok && v.IsReference() {
		md.Resource = v.Data
	}
	return md
}

// className expands ".Foo" and "Foo" against the package, as
// PackageParser.buildClassName does.
func (m *Manifest) className(n string) string {
	n = strings.TrimSpace(n)
	if n == "" || m.Package == "" {
		return n
	}
	switch i := strings.IndexByte(n, '.'); {
	case i == 0:
		return m.Package + n
	case i < 0:
		return m.Package + "." + n
	}
	return n
}

func str(e *Element, id uint32) string {
	v, ok := e.AttrValue(id)
	if !ok {
		return ""
	}
	return v.String()
}

func boolAttr(e *Element, id uint32) *bool {
	v, ok := e.AttrValue(id)
	if !ok {
		return nil
	}
	b, ok := v.Bool()
	if !ok {
		return nil
	}
	return &b
}

func intOf(v Value) (int, bool) {
	n, ok := v.Int()
	if !ok || n != int64(int(n)) {
		return 0, false
	}
	return int(n), true
}

// sdkOf reads an SDK level, which may be a number or a preview codename.
func sdkOf(v Value) (int, string) {
	if n, ok := intOf(v); ok {
		return n, ""
	}
	s := strings.TrimSpace(v.String())
	if n, err := strconv.Atoi(s); err == nil {
		return n, ""
	}
	return 0, s
}

var protectionBase = []string{"normal", "dangerous", "signature", "signatureOrSystem", "internal"}
var protectionFlags = []struct {
	bit  uint32
	name string
}{
	{0x10, "privileged"}, {0x20, "development"}, {0x40, "appop"}, {0x80, "pre23"},
	{0x100, "installer"}, {0x200, "verifier"}, {0x400, "preinstalled"}, {0x800, "setup"},
	{0x1000, "instant"}, {0x2000, "runtime"}, {0x4000, "oem"}, {0x8000, "vendorPrivileged"},
	{0x10000, "textClassifier"}, {0x80000, "configurator"}, {0x100000, "incidentReportApprover"},
	{0x200000, "appPredictor"}, {0x400000, "companion"}, {0x800000, "retailDemo"},
	{0x1000000, "recents"}, {0x2000000, "role"}, {0x4000000, "knownSigner"},
}

func protectionLevel(v Value) string {
	if !v.IsInt() {
		return v.String()
	}
	base := v.Data & 0xf
	out := fmt.Sprintf("0x%x", base)
	if int(base) < len(protectionBase) {
		out = protectionBase[base]
	}
	for _, f := range protectionFlags {
		if v.Data&f.bit != 0 {
			out += "|" + f.name
		}
	}
	return out
}
