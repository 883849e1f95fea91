package ynl

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/nlbus/netlink"
)

// ErrArg is wrapped by the errors of EncodeArgs about an argument.
var ErrArg = errors.New("ynl: bad argument")

// maxArgDepth bounds the nesting of an argument's path.
const maxArgDepth = 16

// ArgSyntax describes the arguments EncodeArgs takes, for usage texts.
const ArgSyntax = `Each argument is PATH=VALUE, or PATH alone for a flag:
  NAME=VALUE        an attribute of the operation's attribute set, by its spec name
  NEST.NAME=VALUE   an attribute inside a nest (arguments with the same NEST share one)
  ARRAY.I.NAME=V    element I of an indexed-array of nests (ARRAY.I=V for scalars)
  N:TYPE=VALUE      attribute number N with an explicit type (no spec needed):
                    u8 u16 u32 u64 s8 s16 s32 s64 be16 be32 be64 uint sint
                    str (NUL-terminated) bin (hex) flag; N.M:TYPE=V nests M in N
  NAME:TYPE=VALUE   overrides the spec's type
Numbers are decimal, 0x hex, 0o octal or 0b binary; enum attributes take the
entry's name, flags attributes names joined by '|'; binary values are hex
(colons allowed); a flag takes no value (or true/false).`

// node is an attribute being built from the arguments.
type node struct {
	key      string // the path segment, for finding a nest again
	arg      string // the argument that made it, for errors
	id       uint16
	attr     *Attr  // nil for a numeric attribute the spec does not know
	typ      string // the type to encode: the attribute's, an array's sub-type, or the argument's
	set      *AttrSet
	value    string
	hasValue bool
	children []*node // nil for a leaf
	nest     bool
}

// EncodeArgs encodes args (see ArgSyntax) as the attributes of set, in the
// order of the arguments (the attributes of a nest in the order they are
// first named). set may be nil: then only numeric arguments (N:TYPE=VALUE)
// are understood. Errors wrap ErrArg and name the argument.
func EncodeArgs(set *AttrSet, args []string) ([]byte, error) {
	root := &node{set: set, nest: true}
	for _, arg := range args {
		if err := root.add(arg); err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrArg, arg, err)
		}
	}
	var ae netlink.AttributeEncoder
	for _, c := range root.children {
		if err := c.encode(&ae); err != nil {
			return nil, err
		}
	}
	return ae.Bytes()
}

func (root *node) add(arg string) error {
	path, value, hasValue := strings.Cut(arg, "=")
	path, typ, hasType := strings.Cut(path, ":")
	if path == "" {
		return errors.New("no attribute name")
	}
	if hasType && typ == "" {
		return errors.New("an empty type after ':'")
	}
	segs := strings.Split(path, ".")
	if len(segs) > maxArgDepth {
		return fmt.Errorf("more than %d levels of nesting", maxArgDepth)
	}
	parent := root
	var inArray *Attr // the indexed-array parent is, if it is one
	for i, seg := range segs {
		last := i == len(segs)-1
		n := &node{key: seg, arg: arg}
		num, err := strconv.ParseUint(seg, 10, 32)
		isNum := err == nil
		switch {
		case seg == "":
			return errors.New("an empty name in the path")
		case inArray != nil:
			if !isNum || num > maxAttrValue {
				return fmt.Errorf("%q is an indexed-array: %q is no index (a number)", inArray.Name, seg)
			}
			n.id = uint16(num)
			n.typ = inArray.SubType
			if inArray.SubType == "nest" {
				n.attr = &Attr{Name: seg, Value: n.id, Type: "nest", Nested: inArray.Nested}
			} else {
				n.attr = &Attr{Name: seg, Value: n.id, Type: inArray.SubType, BigEndian: inArray.BigEndian, Enum: inArray.Enum}
			}
		case isNum:
			if num == 0 || num > maxAttrValue {
				return fmt.Errorf("attribute number %d out of range (1 to %d)", num, maxAttrValue)
			}
			n.id = uint16(num)
			if parent.set != nil {
				n.attr, _ = parent.set.ByValue(n.id)
			}
		default:
			if parent.set == nil {
				if parent == root {
					return fmt.Errorf("attribute %q: there is no spec; use the numeric form N:TYPE=VALUE", seg)
				}
				return fmt.Errorf("attribute %q: %q has no known attribute set; use numbers", seg, parent.key)
			}
			a, ok := parent.set.ByName(seg)
			if !ok {
				return fmt.Errorf("unknown attribute %q in set %q (known: %s)", seg, parent.set.Name, names(parent.set))
			}
			n.attr, n.id = a, a.Value
		}
		if n.typ == "" && n.attr != nil {
			n.typ = n.attr.Type
		}
		inArray = nil
		if !last {
			if n.attr != nil && n.typ != "nest" && n.typ != "indexed-array" {
				return fmt.Errorf("%q is a %s, not a nest", seg, n.typ)
			}
			if n.attr != nil && n.typ == "indexed-array" {
				inArray = n.attr
			}
			if n.attr != nil {
				n.set = n.attr.Nested
			}
			n.nest = true
			if prev := parent.find(seg); prev != nil && prev.nest {
				parent = prev
				continue
			}
			parent.children = append(parent.children, n)
			parent = n
			continue
		}
		if hasType {
			n.typ = typ
		}
		switch {
		case n.typ == "":
			return fmt.Errorf("attribute %d is not in the spec: give its type (%s:u32=...)", n.id, path)
		case n.typ == "nest" || n.typ == "indexed-array" || n.typ == "nest-type-value":
			return fmt.Errorf("%q is a %s: give the attributes inside it (%s.NAME=VALUE)", seg, n.typ, path)
		case n.typ != "flag" && !hasValue:
			return fmt.Errorf("%q needs a value (%s=VALUE)", seg, path)
		}
		if prev := parent.find(seg); prev != nil && (n.attr == nil || !n.attr.MultiAttr) {
			return fmt.Errorf("%q is given twice (it is no multi-attr)", path)
		}
		n.value, n.hasValue = value, hasValue
		parent.children = append(parent.children, n)
	}
	return nil
}

func (n *node) find(key string) *node {
	for _, c := range n.children {
		if c.key == key {
			return c
		}
	}
	return nil
}

// names lists the attribute names of set, for errors.
func names(set *AttrSet) string {
	ns := make([]string, 0, len(set.Attrs))
	for _, a := range set.Attrs {
		ns = append(ns, a.Name)
	}
	sort.Strings(ns)
	return strings.Join(ns, ", ")
}

// argError names the attribute in an error about its value.
func (n *node) errorf(format string, a ...any) error {
	return fmt.Errorf("%w %q: "+format, append([]any{ErrArg, n.arg}, a...)...)
}

func (n *node) encode(ae *netlink.AttributeEncoder) error {
	if n.nest {
		tok := ae.BeginNested(n.id)
		for _, c := range n.children {
			if err := c.encode(ae); err != nil {
				return err
			}
		}
		ae.EndNested(tok)
		return nil
	}
	be := n.attr != nil && n.attr.BigEndian
	var enum *Enum
	if n.attr != nil {
		enum = n.attr.Enum
	}
	switch n.typ {
	case "flag":
		switch n.value {
		case "", "true", "1":
			ae.Flag(n.id)
		case "false", "0":
		default:
			return n.errorf("a flag takes no value (or true/false), not %q", n.value)
		}
	case "str", "string", "nul-string":
		if strings.IndexByte(n.value, 0) >= 0 {
			return n.errorf("a string with a NUL byte")
		}
		ae.String(n.id, n.value)
	case "bin", "binary":
		b, err := parseHex(n.value)
		if err != nil {
			return n.errorf("%w", err)
		}
		ae.Raw(n.id, b)
	case "u8", "u16", "u32", "u64", "uint", "be16", "be32", "be64":
		bits := map[string]int{"u8": 8, "u16": 16, "u32": 32, "u64": 64, "uint": 64, "be16": 16, "be32": 32, "be64": 64}[n.typ]
		v, err := parseUint(n.value, bits, enum)
		if err != nil {
			return n.errorf("%w", err)
		}
		if n.typ == "uint" {
			ae.Uint(n.id, v)
			break
		}
		putFixed(ae, n.id, bits, be || strings.HasPrefix(n.typ, "be"), v)
	case "s8", "s16", "s32", "s64", "sint":
		bits := map[string]int{"s8": 8, "s16": 16, "s32": 32, "s64": 64, "sint": 64}[n.typ]
		v, err := strconv.ParseInt(n.value, 0, bits)
		if err != nil {
			return n.errorf("%q is no %d-bit signed number", n.value, bits)
		}
		if n.typ == "sint" {
			ae.Int(n.id, v)
			break
		}
		putFixed(ae, n.id, bits, be, uint64(v)) // two's complement, truncated
	default:
		return n.errorf("type %q cannot be given as an argument (use :bin=HEX)", n.typ)
	}
	return ae.Err()
}

// putFixed writes v as a bits-wide integer, big-endian when be.
func putFixed(ae *netlink.AttributeEncoder, id uint16, bits int, be bool, v uint64) {
	switch {
	case bits == 8:
		ae.Uint8(id, uint8(v))
	case bits == 16 && be:
		ae.Uint16BE(id, uint16(v))
	case bits == 16:
		ae.Uint16(id, uint16(v))
	case bits == 32 && be:
		ae.Uint32BE(id, uint32(v))
	case bits == 32:
		ae.Uint32(id, uint32(v))
	case be:
		ae.Uint64BE(id, v)
	default:
		ae.Uint64(id, v)
	}
}

// parseUint reads a number of bits bits, or enum names.
func parseUint(s string, bits int, e *Enum) (uint64, error) {
	if v, err := strconv.ParseUint(s, 0, bits); err == nil {
		return v, nil
	}
	if e != nil && s != "" {
		if !e.Flags && strings.Contains(s, "|") {
			return 0, fmt.Errorf("%q: %q is an enum, not flags: give one name", s, e.Name)
		}
		var v uint64
		for _, name := range strings.Split(s, "|") {
			found := false
			for _, en := range e.Entries {
				if en.Name == name {
					v |= en.Value
					found = true
					break
				}
			}
			if !found {
				ns := make([]string, 0, len(e.Entries))
				for _, en := range e.Entries {
					ns = append(ns, en.Name)
				}
				return 0, fmt.Errorf("%q is no number and no name of %q (%s)", name, e.Name, strings.Join(ns, ", "))
			}
		}
		if bits < 64 && v > math.MaxUint64>>(64-bits) {
			return 0, fmt.Errorf("%q does not fit in %d bits", s, bits)
		}
		return v, nil
	}
	return 0, fmt.Errorf("%q is no %d-bit unsigned number", s, bits)
}

// parseHex reads hex digits, optionally after 0x and with ':' between
// bytes.
func parseHex(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	s = strings.ReplaceAll(s, ":", "")
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%q is no hex string", s)
	}
	return b, nil
}
