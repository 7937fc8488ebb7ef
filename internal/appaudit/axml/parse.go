package axml

import (
	"errors"
	"fmt"
	"strings"
)

// MaxDepth bounds element nesting; real manifests are under 10 deep.
const MaxDepth = 256

// ErrNoRoot is returned when a file has no start element.
var ErrNoRoot = errors.New("no root element")

// Document is a parsed binary XML file.
type Document struct {
	Root *Element
	// Namespaces declared in the file, prefix -> URI, in order.
	Namespaces []Namespace
	// ResourceIDs is the resource map: ResourceIDs[i] is the attribute
	// resource id of string i.
	ResourceIDs []uint32
	// Warnings lists what was tolerated (dropped strings, skipped chunks).
	Warnings []string
	strings  []string
}

// Namespace is one start-namespace node.
type Namespace struct{ Prefix, URI string }

// Element is one XML element.
type Element struct {
	Namespace string
	Name      string
	Line      uint32
	Attrs     []Attr
	Children  []*Element
	// Text is the concatenated CDATA directly inside the element.
	Text string
}

// Attr is one attribute.
type Attr struct {
	Namespace string
	// Name is the attribute name string as stored; packers often blank or
	// scramble it, so look attributes up by ResID.
	Name string
	// ResID is the attribute's resource id from the resource map (0 if none).
	ResID uint32
	Value Value
}

// String returns string i of the document's pool ("" if out of range).
func (d *Document) String(i uint32) string {
	if int64(i) >= int64(len(d.strings)) {
		return ""
	}
	return d.strings[i]
}

// Parse decodes a binary XML file. It returns an error when Android would
// refuse the file (no XML header, declared size beyond the data, no string
// pool, no root element, malformed start element) and a best-effort
// Document with Warnings for what Android tolerates.
func Parse(data []byte) (*Document, error) { return parse(data, false) }

// ParsePrefix decodes the first bytes of a binary XML file too large to be
// read whole: the file's declared size may run past data, and the parse
// stops at the first chunk cut off, keeping what came before it. It serves
// to read the root element's attributes (a manifest's package name) from a
// file over a size limit; the Document is incomplete by construction (a
// warning says so) and the caller must report the file as not fully read.
// A prefix that ends before the root element is an error, as in Parse.
func ParsePrefix(data []byte) (*Document, error) { return parse(data, true) }

func parse(data []byte, prefix bool) (*Document, error) {
	// ResXMLTree::setTo does not check the top chunk's type (the
	// WrongChunkStart sample has type 0), only its sizes.
	h, err := ReadChunkHeader(data, 0, 8)
	cut := false
	if err != nil && prefix && len(data) >= 8 && h.HeaderSize >= 8 && uint32(h.HeaderSize) <= h.Size && uint64(h.Size) > uint64(len(data)) {
		h.Size, err, cut = uint32(len(data)), nil, true
	}
	if err != nil {
		return nil, fmt.Errorf("axml: %w", err)
	}
	if h.Type != ResXMLType && h.Type != ResNullType {
		return nil, fmt.Errorf("axml: top chunk type %#04x is not XML", h.Type)
	}
	end := int(h.Size)
	data = data[:end]
	d := &Document{}
	if h.Type != ResXMLType {
		d.warn("top chunk type %#04x instead of %#04x", h.Type, ResXMLType)
	}
	if cut {
		d.warn("only the first %d bytes read: the rest of the file is missing", len(data))
	}
	p := parser{d: d, data: data}
	if err := p.run(int(h.HeaderSize)); err != nil {
		return nil, fmt.Errorf("axml: %w", err)
	}
	if d.Root == nil {
		return nil, fmt.Errorf("axml: %w", ErrNoRoot)
	}
	return d, nil
}

type parser struct {
	d     *Document
	data  []byte
	stack []*Element
	pool  bool
}

func (d *Document) warn(format string, args ...any) {
	if len(d.Warnings) < 100 {
		d.Warnings = append(d.Warnings, fmt.Sprintf(format, args...))
	}
}

func (p *parser) run(off int) error {
	d := p.d
	for off < len(p.data) {
		if len(p.data)-off < 8 {
			d.warn("offset %#x: %d trailing bytes ignored", off, len(p.data)-off)
			break
		}
		h, err := ReadChunkHeader(p.data, off, 8)
		if err != nil {
			if d.Root != nil {
				// Android stops at a bad node after the root (BAD_DOCUMENT);
				// what was read so far is the best we have.
				d.warn("%v; rest of file ignored", err)
				break
			}
			return err
		}
		chunk := p.data[off : off+int(h.Size)]
		switch {
		case h.Type == ResStringPoolType:
			if p.pool {
				d.warn("offset %#x: extra string pool ignored", off)
				break
			}
			if err := p.stringPool(chunk); err != nil {
				return fmt.Errorf("offset %#x: %w", off, err)
			}
		case h.Type == ResXMLResourceMap:
			n := (len(chunk) - int(h.HeaderSize)) / 4
			d.ResourceIDs = make([]uint32, n)
			for i := range d.ResourceIDs {
				d.ResourceIDs[i] = u32(chunk, int(h.HeaderSize)+4*i)
			}
		case h.Type >= ResXMLStartNamespace && h.Type <= ResXMLLastChunk:
			if !p.pool {
				return errors.New("XML node before any string pool")
			}
			if err := p.node(h, chunk, off); err != nil {
				if d.Root == nil {
					return fmt.Errorf("offset %#x: %w", off, err)
				}
				d.warn("offset %#x: %v; rest of file ignored", off, err)
				return nil
			}
		default:
			d.warn("offset %#x: unknown chunk type %#04x skipped", off, h.Type)
		}
		off += int(h.Size)
	}
	return nil
}

func (p *parser) stringPool(chunk []byte) error {
	sp, err := ParseStringPool(chunk)
	if err != nil {
		return err
	}
	strs, errs, err := sp.All(0)
	if err != nil {
		return err
	}
	for i := range strs {
		if e := errs[i]; e != nil {
			p.d.warn("%v (string dropped)", e)
		}
	}
	p.d.strings = strs
	p.pool = true
	return nil
}

// node handles one ResXMLTree_node chunk.
func (p *parser) node(h ChunkHeader, chunk []byte, off int) error {
	d := p.d
	if h.HeaderSize < 16 {
		return fmt.Errorf("node type %#04x header size %d smaller than 16", h.Type, h.HeaderSize)
	}
	line := u32(chunk, 8)
	ext := chunk[h.HeaderSize:]
	need := 0
	switch h.Type {
	case ResXMLStartNamespace, ResXMLEndNamespace, ResXMLEndElement:
		need = 8
	case ResXMLStartElement:
		need = 20
	case ResXMLCData:
		need = 12
	default:
		d.warn("offset %#x: unknown node type %#04x skipped", off, h.Type)
		return nil
	}
	if len(ext) < need {
		return fmt.Errorf("node type %#04x has %d bytes after its header, need %d", h.Type, len(ext), need)
	}
	switch h.Type {
	case ResXMLStartNamespace:
		d.Namespaces = append(d.Namespaces, Namespace{Prefix: d.String(u32(ext, 0)), URI: d.String(u32(ext, 4))})
	case ResXMLEndNamespace:
	case ResXMLStartElement:
		return p.startElement(ext, line)
	case ResXMLEndElement:
		if len(p.stack) == 0 {
			d.warn("offset %#x: end element without start", off)
			return nil
		}
		p.stack = p.stack[:len(p.stack)-1]
	case ResXMLCData:
		if len(p.stack) > 0 {
			e := p.stack[len(p.stack)-1]
			if len(e.Text) < 4096 {
				e.Text += d.String(u32(ext, 0))
			}
		}
	}
	return nil
}

func (p *parser) startElement(ext []byte, line uint32) error {
	d := p.d
	attrStart := int(u16(ext, 8))
	attrSize := int(u16(ext, 10))
	attrCount := int(u16(ext, 12))
	// Overlapping attributes (a stride under 20 bytes) are legal for
	// AOSP but no compiler writes them; refusing them keeps the number of
	// decoded attributes bounded by the input size.
	if attrCount > 1 && attrSize < 20 {
		return fmt.Errorf("start element: attribute size %d smaller than 20", attrSize)
	}
	// ResXMLTree::validateNode: the attributes must fit in the node.
	if attrCount > 0 && attrStart+attrSize*(attrCount-1)+20 > len(ext) {
		return fmt.Errorf("start element: %d attributes of %d bytes from %d exceed the node's %d bytes", attrCount, attrSize, attrStart, len(ext))
	}
	e := &Element{
		Namespace: d.String(u32(ext, 0)),
		Name:      d.String(u32(ext, 4)),
		Line:      line,
	}
	if attrCount > 0 {
		e.Attrs = make([]Attr, attrCount)
	}
	for i := range e.Attrs {
		a := ext[attrStart+attrSize*i:]
		nameIdx := u32(a, 4)
		raw := u32(a, 8)
		v := Value{Type: ValueType(a[15]), Data: u32(a, 16)}
		switch {
		case v.Type == TypeString:
			// The framework reads TYPE_STRING values through the typed
			// value's data index; aapt prints the raw value. They agree in
			// every compiled manifest; prefer the raw value when set, as
			// ResXMLParser::getAttributeStringValue does.
			if raw != 0xffffffff {
				v.Str = d.String(raw)
			} else {
				v.Str = d.String(v.Data)
			}
		case raw != 0xffffffff:
			v.Str = d.String(raw)
		}
		attr := Attr{Namespace: d.String(u32(a, 0)), Name: d.String(nameIdx), Value: v}
		if int64(nameIdx) < int64(len(d.ResourceIDs)) {
			attr.ResID = d.ResourceIDs[nameIdx]
		}
		e.Attrs[i] = attr
	}
	if len(p.stack) == 0 {
		if d.Root != nil {
			// Android's pull parser stops at the end of the first root.
			return fmt.Errorf("second root element <%s> after the first", e.Name)
		}
		d.Root = e
	} else {
		if len(p.stack) >= MaxDepth {
			return fmt.Errorf("elements nested deeper than %d", MaxDepth)
		}
		parent := p.stack[len(p.stack)-1]
		parent.Children = append(parent.Children, e)
	}
	p.stack = append(p.stack, e)
	return nil
}

// Attr finds an attribute the way Android's package parser does: first by
// resource id (any namespace, any name string), then, when no attribute
// carries that id, by name among attributes without a resource id. name may
// carry a prefix ("android:name"); only the local part is compared.
func (e *Element) Attr(resID uint32, name string) (Attr, bool) {
	if e == nil {
		return Attr{}, false
	}
	if resID != 0 {
		for _, a := range e.Attrs {
			if a.ResID == resID {
				return a, true
			}
		}
	}
	if name == "" {
		return Attr{}, false
	}
	for _, a := range e.Attrs {
		if a.ResID == 0 && localName(a.Name) == name {
			return a, true
		}
	}
	return Attr{}, false
}

// AttrValue is Attr by resource id with the by-name fallback taken from the
// known attribute table.
func (e *Element) AttrValue(resID uint32) (Value, bool) {
	a, ok := e.Attr(resID, attrNames[resID])
	return a.Value, ok
}

// AttrByName finds an attribute by its local name only, preferring one in
// no namespace. It is for the manifest's plain attributes (package,
// platformBuildVersionCode), which have no resource id.
func (e *Element) AttrByName(name string) (Attr, bool) {
	if e == nil {
		return Attr{}, false
	}
	var found Attr
	ok := false
	for _, a := range e.Attrs {
		if localName(a.Name) != name {
			continue
		}
		if a.Namespace == "" {
			return a, true
		}
		if !ok {
			found, ok = a, true
		}
	}
	return found, ok
}

func localName(n string) string {
	if i := strings.LastIndexByte(n, ':'); i >= 0 {
		return n[i+1:]
	}
	return n
}
