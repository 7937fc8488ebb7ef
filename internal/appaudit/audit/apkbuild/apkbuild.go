// Package apkbuild writes small Android apps for tests and synthetic
// benchmarks: a binary AndroidManifest.xml (AXML, with the android namespace
// and the resource map that identify attributes) and the ZIP around it, with
// DEX files from dextest.Build or any other entries.
//
// It writes test material only and must never be imported by code that
// reads apps (the parsers and the audit), so that a writer bug cannot hide a
// reader bug in the same package.
package apkbuild

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"unicode/utf16"
)

// Component is an activity, service or receiver of the manifest.
type Component struct {
	Kind      string // "activity", "service", "receiver"
	Name      string
	Actions   []string // one intent filter with these actions...
	MIMETypes []string // ...and these data MIME types
}

// Manifest is what Binary writes.
type Manifest struct {
	Package     string
	VersionCode int
	VersionName string
	MinSDK      int
	TargetSDK   int
	Permissions []string
	Label       string // a literal label (no resource)
	Application string // Application subclass
	Components  []Component
	// MetaData are <meta-data android:name android:value> elements of
	// <application>, written in order (repeats included: padding is what
	// tests of the readers' size limits need).
	MetaData []MetaData
}

// MetaData is one <meta-data> element.
type MetaData struct{ Name, Value string }

// Resource ids of the android: attributes written (android.R.attr).
const (
	attrLabel       = 0x01010001
	attrName        = 0x01010003
	attrMIMEType    = 0x01010026
	attrMinSDK      = 0x0101020c
	attrVersionCode = 0x0101021b
	attrVersionName = 0x0101021c
	attrTargetSDK   = 0x01010270
	attrValue       = 0x01010024
)

const androidNS = "http://schemas.android.com/apk/res/android"

// value types of Res_value.
const (
	typeString = 0x03
	typeIntDec = 0x10
)

type writer struct {
	strs  []string
	index map[string]uint32
	resID []uint32
	nodes []byte
}

type attr struct {
	ns, name uint32
	typ      byte
	data     uint32
	raw      uint32
}

const none = 0xffffffff

// Binary encodes the manifest as Android's build tools do: UTF-16 string
// pool, attribute names first with their resource ids, android namespace.
func (m Manifest) Binary() []byte {
	w := &writer{index: map[string]uint32{}}
	// Attribute names come first, in the order of the resource map.
	label := w.attrName("label", attrLabel)
	name := w.attrName("name", attrName)
	mime := w.attrName("mimeType", attrMIMEType)
	minSDK := w.attrName("minSdkVersion", attrMinSDK)
	vcode := w.attrName("versionCode", attrVersionCode)
	vname := w.attrName("versionName", attrVersionName)
	target := w.attrName("targetSdkVersion", attrTargetSDK)
	value := w.attrName("value", attrValue)
	ns := w.str(androidNS)
	prefix := w.str("android")
	pkg := w.str("package")

	w.node(0x0100, append(le32(prefix), le32(ns)...))
	w.start("manifest",
		w.strAttr(none, pkg, m.Package),
		attr{ns: ns, name: vcode, typ: typeIntDec, data: uint32(m.VersionCode), raw: none},
		w.strAttr(ns, vname, m.VersionName))
	w.start("uses-sdk",
		attr{ns: ns, name: minSDK, typ: typeIntDec, data: uint32(m.MinSDK), raw: none},
		attr{ns: ns, name: target, typ: typeIntDec, data: uint32(m.TargetSDK), raw: none})
	w.end("uses-sdk")
	for _, p := range m.Permissions {
		w.start("uses-permission", w.strAttr(ns, name, p))
		w.end("uses-permission")
	}
	var app []attr
	if m.Label != "" {
		app = append(app, w.strAttr(ns, label, m.Label))
	}
	if m.Application != "" {
		app = append(app, w.strAttr(ns, name, m.Application))
	}
	w.start("application", app...)
	for _, md := range m.MetaData {
		w.start("meta-data", w.strAttr(ns, name, md.Name), w.strAttr(ns, value, md.Value))
		w.end("meta-data")
	}
	for _, c := range m.Components {
		w.start(c.Kind, w.strAttr(ns, name, c.Name))
		if len(c.Actions)+len(c.MIMETypes) > 0 {
			w.start("intent-filter")
			for _, a := range c.Actions {
				w.start("action", w.strAttr(ns, name, a))
				w.end("action")
			}
			for _, t := range c.MIMETypes {
				w.start("data", w.strAttr(ns, mime, t))
				w.end("data")
			}
			w.end("intent-filter")
		}
		w.end(c.Kind)
	}
	w.end("application")
	w.end("manifest")
	w.node(0x0101, append(le32(prefix), le32(ns)...))
	return w.bytes()
}

func (w *writer) attrName(name string, id uint32) uint32 {
	i := uint32(len(w.strs))
	w.strs = append(w.strs, name)
	w.resID = append(w.resID, id)
	w.index[name] = i
	return i
}

func (w *writer) str(s string) uint32 {
	if i, ok := w.index[s]; ok {
		return i
	}
	i := uint32(len(w.strs))
	w.strs = append(w.strs, s)
	w.index[s] = i
	return i
}

func (w *writer) strAttr(ns, name uint32, v string) attr {
	i := w.str(v)
	return attr{ns: ns, name: name, typ: typeString, data: i, raw: i}
}

func (w *writer) start(name string, attrs ...attr) {
	ext := append(le32(none), le32(w.str(name))...)
	ext = append(ext, le16(20)...) // attributeStart
	ext = append(ext, le16(20)...) // attributeSize
	ext = append(ext, le16(uint16(len(attrs)))...)
	ext = append(ext, make([]byte, 6)...) // id, class, style indexes
	for _, a := range attrs {
		ext = append(ext, le32(a.ns)...)
		ext = append(ext, le32(a.name)...)
		ext = append(ext, le32(a.raw)...)
		ext = append(ext, le16(8)...)
		ext = append(ext, 0, a.typ)
		ext = append(ext, le32(a.data)...)
	}
	w.node(0x0102, ext)
}

func (w *writer) end(name string) {
	w.node(0x0103, append(le32(none), le32(w.str(name))...))
}

func (w *writer) node(typ uint16, ext []byte) {
	w.nodes = append(w.nodes, le16(typ)...)
	w.nodes = append(w.nodes, le16(16)...)
	w.nodes = append(w.nodes, le32(uint32(16+len(ext)))...)
	w.nodes = append(w.nodes, le32(1)...)    // line
	w.nodes = append(w.nodes, le32(none)...) // comment
	w.nodes = append(w.nodes, ext...)
}

func (w *writer) bytes() []byte {
	var offs, data []byte
	for _, s := range w.strs {
		offs = append(offs, le32(uint32(len(data)))...)
		u := utf16.Encode([]rune(s))
		data = append(data, le16(uint16(len(u)))...)
		for _, c := range u {
			data = append(data, le16(c)...)
		}
		data = append(data, 0, 0)
	}
	for len(data)%4 != 0 {
		data = append(data, 0)
	}
	pool := le16(0x0001)
	pool = append(pool, le16(28)...)
	pool = append(pool, le32(uint32(28+len(offs)+len(data)))...)
	pool = append(pool, le32(uint32(len(w.strs)))...)
	pool = append(pool, le32(0)...) // styles
	pool = append(pool, le32(0)...) // flags: UTF-16
	pool = append(pool, le32(uint32(28+len(offs)))...)
	pool = append(pool, le32(0)...)
	pool = append(append(pool, offs...), data...)

	body := pool
	body = append(body, le16(0x0180)...)
	body = append(body, le16(8)...)
	body = append(body, le32(uint32(8+4*len(w.resID)))...)
	for _, id := range w.resID {
		body = append(body, le32(id)...)
	}
	body = append(body, w.nodes...)
	out := append(le16(0x0003), le16(8)...)
	out = append(out, le32(uint32(8+len(body)))...)
	return append(out, body...)
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// File is one entry of an archive.
type File struct {
	Name  string
	Data  []byte
	Store bool // write uncompressed, as APKs store native libraries and resources.arsc
}

// WriteZip writes files as a ZIP archive to w.
func WriteZip(w io.Writer, files ...File) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate}
		if f.Store {
			h.Method = zip.Store
		}
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.Data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// Zip returns files as a ZIP archive.
func Zip(files ...File) ([]byte, error) {
	var b bytes.Buffer
	err := WriteZip(&b, files...)
	return b.Bytes(), err
}
