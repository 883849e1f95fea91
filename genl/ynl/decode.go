package ynl

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"strings"

	"github.com/nlbus/netlink"
)

// maxDecodeDepth bounds the nesting Decode follows; deeper nests are shown
// as binary.
const maxDecodeDepth = 32

// Field is one decoded attribute.
type Field struct {
	// Name is the spec's name of the attribute, or its number (as
	// decimal text) when the spec has none; an element of an
	// indexed-array is named by its index.
	Name string
	// Type is the attribute type (without the nested and byte-order
	// flags).
	Type uint16
	// Known is set when the spec describes the attribute.
	Known bool
	// Kind is how the value was decoded: "uint", "int", "string", "flag",
	// "binary", "nest" or "array".
	Kind string
	// Value is a uint64 (uint), int64 (int), string, bool (flag), []byte
	// (binary, a copy) or Fields (nest, array).
	Value any
	// Enum names the value of an enum attribute (nil otherwise); Hex asks
	// for hexadecimal.
	Enum *Enum
	Hex  bool
}

// Fields are decoded attributes in the order they came.
type Fields []Field

// Decode decodes the attributes b as members of set (nil: none known).
// Attributes the spec does not describe are kept, with their number as
// Name: as a nest when they carry NLA_F_NESTED, as binary otherwise. An
// attribute whose length does not fit its type is shown as binary. The
// error is the first malformed attribute; what came before it is returned.
func Decode(set *AttrSet, b []byte) (Fields, error) {
	return decode(set, b, 0)
}

func decode(set *AttrSet, b []byte, depth int) (Fields, error) {
	var out Fields
	ad := netlink.NewAttributeDecoder(b)
	for ad.Next() {
		var a *Attr
		if set != nil {
			a, _ = set.ByValue(ad.Type())
		}
		out = append(out, decodeOne(a, ad.Type(), ad.IsNested(), ad.Bytes(), depth))
	}
	return out, ad.Err()
}

func decodeOne(a *Attr, typ uint16, nested bool, v []byte, depth int) Field {
	f := Field{Name: strconv.Itoa(int(typ)), Type: typ}
	kind := "binary"
	if a != nil {
		f.Name, f.Known, f.Enum, f.Hex = a.Name, true, a.Enum, a.Hex
		kind = a.Type
	} else if nested {
		kind = "nest"
	}
	if depth >= maxDecodeDepth && (kind == "nest" || kind == "indexed-array" || kind == "nest-type-value") {
		kind = "binary"
	}
	be := a != nil && a.BigEndian
	switch kind {
	case "u8", "u16", "u32", "u64", "uint":
		if u, ok := readUint(v, kind, be); ok {
			f.Kind, f.Value = "uint", u
			return f
		}
	case "s8", "s16", "s32", "s64", "sint":
		if u, ok := readUint(v, "u"+strings.TrimPrefix(kind, "s"), be); ok {
			n := len(v) * 8
			f.Kind, f.Value = "int", int64(u<<(64-n))>>(64-n)
			return f
		}
	case "flag":
		if len(v) == 0 {
			f.Kind, f.Value = "flag", true
			return f
		}
	case "string":
		f.Kind, f.Value = "string", string(bytes.TrimRight(v, "\x00"))
		return f
	case "nest":
		var set *AttrSet
		if a != nil {
			set = a.Nested
		}
		if fs, err := decode(set, v, depth+1); err == nil {
			f.Kind, f.Value = "nest", fs
			return f
		}
	case "indexed-array":
		if fs, err := decodeArray(a, v, depth+1); err == nil {
			f.Kind, f.Value = "array", fs
			return f
		}
	case "nest-type-value":
		if fs, err := decodeTypeValue(a, a.TypeValue, v, depth+1); err == nil {
			f.Kind, f.Value = "nest", fs
			return f
		}
	}
	f.Kind, f.Value = "binary", append([]byte{}, v...)
	return f
}

// decodeArray decodes the elements of an indexed-array, named by index.
func decodeArray(a *Attr, b []byte, depth int) (Fields, error) {
	var out Fields
	ad := netlink.NewAttributeDecoder(b)
	for ad.Next() {
		el := &Attr{Name: strconv.Itoa(int(ad.Type())), Type: a.SubType, Nested: a.Nested, BigEndian: a.BigEndian, Enum: a.Enum, Hex: a.Hex}
		if a.SubType == "nest" && a.Nested == nil {
			el = nil
		}
		out = append(out, decodeOne(el, ad.Type(), ad.IsNested(), ad.Bytes(), depth))
	}
	return out, ad.Err()
}

// decodeTypeValue decodes a nest-type-value: levels of nests whose types
// are values (named by number), the innermost holding a's set.
func decodeTypeValue(a *Attr, levels int, b []byte, depth int) (Fields, error) {
	if levels <= 0 {
		return decode(a.Nested, b, depth)
	}
	var out Fields
	ad := netlink.NewAttributeDecoder(b)
	for ad.Next() {
		f := Field{Name: strconv.Itoa(int(ad.Type())), Type: ad.Type(), Known: true}
		fs, err := decodeTypeValue(a, levels-1, ad.Bytes(), depth+1)
		if err != nil || depth >= maxDecodeDepth {
			f.Kind, f.Value = "binary", ad.CopyBytes()
		} else {
			f.Kind, f.Value = "nest", fs
		}
		out = append(out, f)
	}
	return out, ad.Err()
}

// readUint reads an unsigned integer of the size kind (u8 ... u64) names;
// "uint" takes 4 or 8 bytes, and a wrong length fails.
func readUint(v []byte, kind string, be bool) (uint64, bool) {
	want := map[string]int{"u8": 1, "u16": 2, "u32": 4, "u64": 8}[kind]
	if kind == "uint" && len(v) == 4 {
		want = 4
	} else if kind == "uint" {
		want = 8
	}
	if len(v) != want {
		return 0, false
	}
	var order binary.ByteOrder = binary.NativeEndian
	if be {
		order = binary.BigEndian
	}
	switch len(v) {
	case 1:
		return uint64(v[0]), true
	case 2:
		return uint64(order.Uint16(v)), true
	case 4:
		return uint64(order.Uint32(v)), true
	default:
		return order.Uint64(v), true
	}
}

// Text writes fs one attribute a line, "name: value", nests indented by
// two spaces below their name.
func (fs Fields) Text(w io.Writer) error {
	var b bytes.Buffer
	fs.text(&b, 0)
	_, err := w.Write(b.Bytes())
	return err
}

func (fs Fields) text(b *bytes.Buffer, depth int) {
	for _, f := range fs {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(f.Name)
		b.WriteByte(':')
		if sub, ok := f.Value.(Fields); ok {
			b.WriteByte('\n')
			sub.text(b, depth+1)
			continue
		}
		b.WriteByte(' ')
		b.WriteString(f.valueText())
		b.WriteByte('\n')
	}
}

// valueText is a scalar's text: numbers in decimal (hex for display-hint
// hex and for flags), the enum's names after them, strings quoted, binary
// in hex.
func (f *Field) valueText() string {
	switch v := f.Value.(type) {
	case uint64:
		s := strconv.FormatUint(v, 10)
		if f.Hex || (f.Enum != nil && f.Enum.Flags) {
			s = "0x" + strconv.FormatUint(v, 16)
		}
		if f.Enum != nil {
			if n := f.Enum.names(v); len(n) > 0 {
				s += " (" + strings.Join(n, "|") + ")"
			}
		}
		return s
	case int64:
		return strconv.FormatInt(v, 10)
	case string:
		return strconv.Quote(v)
	case bool:
		return "true"
	case []byte:
		if len(v) == 0 {
			return "(empty)"
		}
		return hex.EncodeToString(v)
	}
	return fmt.Sprint(f.Value)
}

// names returns the names of v: the entry's for an enum, the set bits'
// for flags (bits without a name are left out).
func (e *Enum) names(v uint64) []string {
	if !e.Flags {
		if n := e.name(v); n != "" {
			return []string{n}
		}
		return nil
	}
	var out []string
	for v != 0 {
		bit := uint64(1) << bits.TrailingZeros64(v)
		if n := e.name(bit); n != "" {
			out = append(out, n)
		}
		v &^= bit
	}
	return out
}

// MarshalJSON encodes fs as a JSON object in the attributes' order: keys
// are the names (numbers for attributes the spec does not know); an
// attribute that repeats becomes an array of its values. Values: numbers;
// an enum's entry name (its number when it has none); flags as {"value": N,
// "names": [...]}; strings; binary as a hex string; a flag attribute as
// true; nests as objects, indexed-arrays as arrays of their elements.
func (fs Fields) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	fs.json(&b)
	return b.Bytes(), nil
}

func (fs Fields) json(b *bytes.Buffer) {
	b.WriteByte('{')
	done := make([]bool, len(fs))
	first := true
	for i := range fs {
		if done[i] {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSONString(b, fs[i].Name)
		b.WriteByte(':')
		var same []int
		for j := i; j < len(fs); j++ {
			if !done[j] && fs[j].Name == fs[i].Name {
				same = append(same, j)
				done[j] = true
			}
		}
		if len(same) > 1 {
			b.WriteByte('[')
			for k, j := range same {
				if k > 0 {
					b.WriteByte(',')
				}
				fs[j].jsonValue(b)
			}
			b.WriteByte(']')
			continue
		}
		fs[i].jsonValue(b)
	}
	b.WriteByte('}')
}

func (f *Field) jsonValue(b *bytes.Buffer) {
	switch v := f.Value.(type) {
	case uint64:
		switch {
		case f.Enum != nil && f.Enum.Flags:
			b.WriteString(`{"value":`)
			b.WriteString(strconv.FormatUint(v, 10))
			b.WriteString(`,"names":[`)
			for k, n := range f.Enum.names(v) {
				if k > 0 {
					b.WriteByte(',')
				}
				writeJSONString(b, n)
			}
			b.WriteString("]}")
		case f.Enum != nil && f.Enum.name(v) != "":
			writeJSONString(b, f.Enum.name(v))
		default:
			b.WriteString(strconv.FormatUint(v, 10))
		}
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case string:
		writeJSONString(b, v)
	case bool:
		b.WriteString("true")
	case []byte:
		writeJSONString(b, hex.EncodeToString(v))
	case Fields:
		if f.Kind == "array" {
			b.WriteByte('[')
			for k := range v {
				if k > 0 {
					b.WriteByte(',')
				}
				v[k].jsonValue(b)
			}
			b.WriteByte(']')
			return
		}
		v.json(b)
	default:
		b.WriteString("null")
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	j, _ := json.Marshal(s) // a string always marshals
	b.Write(j)
}
