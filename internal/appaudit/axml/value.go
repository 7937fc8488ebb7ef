package axml

import (
	"fmt"
	"math"
	"strconv"
)

// ValueType is Res_value.dataType.
type ValueType uint8

// Res_value data types from ResourceTypes.h.
const (
	TypeNull             ValueType = 0x00
	TypeReference        ValueType = 0x01
	TypeAttribute        ValueType = 0x02
	TypeString           ValueType = 0x03
	TypeFloat            ValueType = 0x04
	TypeDimension        ValueType = 0x05
	TypeFraction         ValueType = 0x06
	TypeDynamicReference ValueType = 0x07
	TypeDynamicAttribute ValueType = 0x08
	TypeIntDec           ValueType = 0x10
	TypeIntHex           ValueType = 0x11
	TypeIntBoolean       ValueType = 0x12
	TypeIntColorARGB8    ValueType = 0x1c
	TypeIntColorRGB8     ValueType = 0x1d
	TypeIntColorARGB4    ValueType = 0x1e
	TypeIntColorRGB4     ValueType = 0x1f
)

// Value is a typed attribute value (Res_value) with its string resolved
// when the type is TypeString.
type Value struct {
	Type ValueType
	Data uint32
	// Str is the string for TypeString values (and the raw string of the
	// attribute, when present, for other types).
	Str string
}

// IsInt reports whether the value is one of the integer types
// (TYPE_FIRST_INT..TYPE_LAST_INT), booleans and colours included.
func (v Value) IsInt() bool { return v.Type >= TypeIntDec && v.Type <= TypeIntColorRGB4 }

// IsReference reports whether the value points at a resource (@0x7f...).
func (v Value) IsReference() bool {
	return v.Type == TypeReference || v.Type == TypeDynamicReference
}

// Int returns the value as a number: the integer for int types, the parsed
// number for a decimal string (manifests written by hand tools sometimes
// store versionCode as a string), and false otherwise.
func (v Value) Int() (int64, bool) {
	switch {
	case v.Type == TypeIntBoolean:
		if v.Data != 0 {
			return 1, true
		}
		return 0, true
	case v.Type == TypeIntHex || v.Type >= TypeIntColorARGB8 && v.Type <= TypeIntColorRGB4:
		return int64(v.Data), true
	case v.IsInt():
		return int64(int32(v.Data)), true
	case v.Type == TypeString:
		n, err := strconv.ParseInt(v.Str, 0, 64)
		return n, err == nil
	case v.Type == TypeFloat:
		f := math.Float32frombits(v.Data)
		if f == float32(int64(f)) {
			return int64(f), true
		}
	}
	return 0, false
}

// Bool interprets the value as Android does for a boolean attribute:
// TYPE_INT_BOOLEAN (and other ints) non-zero, or the strings "true"/"false".
func (v Value) Bool() (b, ok bool) {
	switch {
	case v.IsInt():
		return v.Data != 0, true
	case v.Type == TypeString:
		switch v.Str {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

var dimensionUnits = [...]string{"px", "dp", "sp", "pt", "in", "mm", "", ""}
var fractionUnits = [...]string{"%", "%p", "", "", "", "", "", ""}
var radixMult = [...]float64{1.0 / (1 << 8), 1.0 / (1 << 15), 1.0 / (1 << 23), 1.0 / (1 << 31)}

func complexToFloat(c uint32) float64 {
	mantissa := float64(int32(c & 0xffffff00))
	return mantissa * radixMult[(c>>4)&3]
}

// String formats the value the way aapt dump / androguard do.
func (v Value) String() string {
	switch v.Type {
	case TypeString:
		return v.Str
	case TypeNull:
		return ""
	case TypeReference, TypeDynamicReference:
		if v.Data>>24 == 1 {
			return fmt.Sprintf("@android:0x%08x", v.Data)
		}
		return fmt.Sprintf("@0x%08x", v.Data)
	case TypeAttribute, TypeDynamicAttribute:
		return fmt.Sprintf("?0x%08x", v.Data)
	case TypeFloat:
		return strconv.FormatFloat(float64(math.Float32frombits(v.Data)), 'g', -1, 32)
	case TypeDimension:
		return strconv.FormatFloat(complexToFloat(v.Data), 'g', -1, 64) + dimensionUnits[v.Data&0xf&7]
	case TypeFraction:
		return strconv.FormatFloat(complexToFloat(v.Data)*100, 'g', -1, 64) + fractionUnits[v.Data&0xf&7]
	case TypeIntHex:
		return fmt.Sprintf("0x%08x", v.Data)
	case TypeIntBoolean:
		if v.Data != 0 {
			return "true"
		}
		return "false"
	case TypeIntColorARGB8, TypeIntColorRGB8, TypeIntColorARGB4, TypeIntColorRGB4:
		return fmt.Sprintf("#%08x", v.Data)
	}
	if v.IsInt() {
		return strconv.FormatInt(int64(int32(v.Data)), 10)
	}
	return fmt.Sprintf("<0x%x, type 0x%02x>", v.Data, uint8(v.Type))
}
