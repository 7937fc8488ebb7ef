package axml

import (
	"encoding/binary"
	"unicode/utf16"
)

// xmlBuilder writes small binary XML files for tests.
type xmlBuilder struct {
	strs  []string
	index map[string]uint32
	resID []uint32 // resource map, parallel to the first strings
	nodes []byte
	utf8  bool
}

func newBuilder(utf8 bool) *xmlBuilder {
	return &xmlBuilder{index: map[string]uint32{}, utf8: utf8}
}

// attrName interns an attribute name with a resource id; these must come
// first in the pool, as aapt lays them out.
func (b *xmlBuilder) attrName(name string, id uint32) uint32 {
	i := uint32(len(b.strs))
	b.strs = append(b.strs, name)
	b.resID = append(b.resID, id)
	return i
}

func (b *xmlBuilder) str(s string) uint32 {
	if i, ok := b.index[s]; ok {
		return i
	}
	i := uint32(len(b.strs))
	b.strs = append(b.strs, s)
	b.index[s] = i
	return i
}

type battr struct {
	ns, name uint32
	typ      ValueType
	data     uint32
	raw      uint32
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func (b *xmlBuilder) start(name string, attrs ...battr) {
	n := b.str(name)
	var ext []byte
	ext = append(ext, le32(0xffffffff)...)
	ext = append(ext, le32(n)...)
	ext = append(ext, le16(20)...)
	ext = append(ext, le16(20)...)
	ext = append(ext, le16(uint16(len(attrs)))...)
	ext = append(ext, make([]byte, 6)...)
	for _, a := range attrs {
		ext = append(ext, le32(a.ns)...)
		ext = append(ext, le32(a.name)...)
		ext = append(ext, le32(a.raw)...)
		ext = append(ext, le16(8)...)
		ext = append(ext, 0, byte(a.typ))
		ext = append(ext, le32(a.data)...)
	}
	b.node(ResXMLStartElement, ext)
}

func (b *xmlBuilder) end(name string) {
	ext := append(le32(0xffffffff), le32(b.str(name))...)
	b.node(ResXMLEndElement, ext)
}

func (b *xmlBuilder) node(typ uint16, ext []byte) {
	b.nodes = append(b.nodes, le16(typ)...)
	b.nodes = append(b.nodes, le16(16)...)
	b.nodes = append(b.nodes, le32(uint32(16+len(ext)))...)
	b.nodes = append(b.nodes, le32(1)...)          // line
	b.nodes = append(b.nodes, le32(0xffffffff)...) // comment
	b.nodes = append(b.nodes, ext...)
}

// strAttr, intAttr... build attribute values.
func (b *xmlBuilder) strAttr(name uint32, v string) battr {
	i := b.str(v)
	return battr{ns: 0xffffffff, name: name, typ: TypeString, data: i, raw: i}
}

func valAttr(name uint32, t ValueType, data uint32) battr {
	return battr{ns: 0xffffffff, name: name, typ: t, data: data, raw: 0xffffffff}
}

func (b *xmlBuilder) pool() []byte {
	var offs, data []byte
	for _, s := range b.strs {
		offs = append(offs, le32(uint32(len(data)))...)
		if b.utf8 {
			u := utf16.Encode([]rune(s))
			data = append(data, byte(len(u)), byte(len(s)))
			data = append(data, s...)
			data = append(data, 0)
		} else {
			u := utf16.Encode([]rune(s))
			data = append(data, le16(uint16(len(u)))...)
			for _, c := range u {
				data = append(data, le16(c)...)
			}
			data = append(data, 0, 0)
		}
	}
	for len(data)%4 != 0 {
		data = append(data, 0)
	}
	flags := uint32(0)
	if b.utf8 {
		flags = flagUTF8
	}
	hdr := []byte{}
	hdr = append(hdr, le16(ResStringPoolType)...)
	hdr = append(hdr, le16(28)...)
	hdr = append(hdr, le32(uint32(28+len(offs)+len(data)))...)
	hdr = append(hdr, le32(uint32(len(b.strs)))...)
	hdr = append(hdr, le32(0)...)
	hdr = append(hdr, le32(flags)...)
	hdr = append(hdr, le32(uint32(28+len(offs)))...)
	hdr = append(hdr, le32(0)...)
	return append(append(hdr, offs...), data...)
}

func (b *xmlBuilder) bytes() []byte {
	body := b.pool()
	if len(b.resID) > 0 {
		body = append(body, le16(ResXMLResourceMap)...)
		body = append(body, le16(8)...)
		body = append(body, le32(uint32(8+4*len(b.resID)))...)
		for _, id := range b.resID {
			body = append(body, le32(id)...)
		}
	}
	body = append(body, b.nodes...)
	out := append(le16(ResXMLType), le16(8)...)
	out = append(out, le32(uint32(8+len(body)))...)
	return append(out, body...)
}

// sampleManifest builds a manifest whose attribute names are blanked, as
// packers do: only the resource map says which attribute is which.
func sampleManifest(utf8 bool) []byte {
	b := newBuilder(utf8)
	name := b.attrName("", AttrName)
	vcode := b.attrName("", AttrVersionCode)
	vname := b.attrName("x", AttrVersionName)
	minSDK := b.attrName("", AttrMinSDKVersion)
	target := b.attrName("", AttrTargetSDKVersion)
	label := b.attrName("", AttrLabel)
	debug := b.attrName("", AttrDebuggable)
	exported := b.attrName("", AttrExported)
	mime := b.attrName("", AttrMIMEType)
	value := b.attrName("", AttrValue)
	maxSDK := b.attrName("", AttrMaxSDKVersion)
	pkg := b.str("package")
	decoy := b.str("name") // a plain "name" attribute without resource id
	b.start("manifest", b.strAttr(pkg, "com.example.app"), valAttr(vcode, TypeIntDec, 42), b.strAttr(vname, "1.2.3"))
	b.start("uses-sdk", valAttr(minSDK, TypeIntDec, 21), valAttr(target, TypeIntDec, 30))
	b.end("uses-sdk")
	b.start("uses-permission", b.strAttr(name, "android.permission.INTERNET"))
	b.end("uses-permission")
	b.start("uses-permission", b.strAttr(name, "android.permission.READ_CONTACTS"), valAttr(maxSDK, TypeIntDec, 22))
	b.end("uses-permission")
	b.start("uses-permission-sdk-23", b.strAttr(name, "android.permission.CAMERA"))
	b.end("uses-permission-sdk-23")
	b.start("permission", b.strAttr(name, "com.example.app.C2D"))
	b.end("permission")
	b.start("application", b.strAttr(decoy, "com.decoy.App"), b.strAttr(name, ".App"), valAttr(label, TypeReference, 0x7f0b0012), valAttr(debug, TypeIntBoolean, 0xffffffff))
	b.start("meta-data", b.strAttr(name, "API_KEY"), b.strAttr(value, "secret"))
	b.end("meta-data")
	b.start("activity", b.strAttr(name, "Main"))
	b.start("intent-filter")
	b.start("action", b.strAttr(name, "android.intent.action.SEND"))
	b.end("action")
	b.start("data", b.strAttr(mime, "image/*"))
	b.end("data")
	b.end("intent-filter")
	b.end("activity")
	b.start("service", b.strAttr(name, "com.other.Svc"), valAttr(exported, TypeIntBoolean, 0))
	b.end("service")
	b.start("provider", b.strAttr(name, ".Prov"))
	b.end("provider")
	b.end("application")
	b.end("manifest")
	return b.bytes()
}
