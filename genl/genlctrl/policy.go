package genlctrl

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/nlbus/netlink/genl"
)

// Attr is the policy of one attribute, in the terms CTRL_CMD_GETPOLICY
// reports (NL_ATTR_TYPE_* and NL_POLICY_TYPE_ATTR_*) and with the checks
// Linux's nla_validate makes for the corresponding kernel policy.
type Attr struct {
	// ID is the attribute's type, 1 and up.
	ID uint16
	// Type is the attribute's type. TypeInvalid is not allowed: leave the
	// attribute out of its Table instead.
	Type genl.AttrType

	// HasRange bounds an integer's value: MinS..MaxS for the signed types
	// (S8-S64, Sint), MinU..MaxU for the unsigned ones (U8-U64, Uint).
	// Without it the dump reports the type's own range and nothing is
	// checked beyond the size.
	HasRange   bool
	MinS, MaxS int64
	MinU, MaxU uint64

	// MinLen and MaxLen bound the length of a Binary attribute; MaxLen
	// also bounds a String's or NulString's (without the NUL). 0 means no
	// bound. MinLen is refused for strings, whose kernel policies have none.
	MinLen, MaxLen uint32

	// Mask is the set of valid bits: of a Bitfield32 (its valid-flags
	// mask), or of an unsigned integer (U8-U64, Uint), which is then
	// checked against the mask instead of a range (Linux's
	// NLA_VALIDATE_MASK; HasRange must be false).
	Mask uint64

	// Nested is the table that the attributes nested in a Nested
	// attribute, or in each element of a NestedArray, follow. Nil: not
	// checked.
	Nested *Table
}

// Table is one policy table: the attributes of a message, or of a nest.
// Families share a table between operations by pointing to the same
// Table; the controller numbers tables per GETPOLICY dump as Linux does.
// Register copies what it keeps: changing a Table afterwards changes
// nothing registered.
type Table struct {
	// MaxAttr is the highest attribute type of the table; 0 means the
	// highest ID in Attrs. Types above it are unknown attributes.
	MaxAttr uint16
	// Attrs are the attributes' policies, in any order, each ID once.
	Attrs []Attr
}

// Limits on what a registration may hold: the registry is filled by
// untrusted bus clients, and its memory has a known top.
const (
	// MaxTables is the number of distinct tables a family may use.
	MaxTables = 256
	// MaxAttrs is the total number of attribute policies of a family.
	MaxAttrs = 4096
	// maxAttrType is the highest attribute type (NLA_TYPE_MASK).
	maxAttrType = 0x3fff
	// maxDepth is Linux's MAX_POLICY_RECURSION_DEPTH.
	maxDepth = 10
)

// table is a registered Table: its attributes sorted by ID.
type table struct {
	max   uint16
	attrs []Attr
	nest  []*table // the registered form of attrs[i].Nested, or nil
}

func (t *table) attr(id uint16) *Attr {
	i, ok := slices.BinarySearchFunc(t.attrs, id, func(a Attr, v uint16) int { return cmp.Compare(a.ID, v) })
	if !ok {
		return nil
	}
	return &t.attrs[i]
}

// compiler turns a family's Tables into tables, once per distinct *Table,
// and checks them.
type compiler struct {
	seen  map[*Table]*table
	attrs int
}

var errTooMany = errors.New("too many policy tables or attributes")

// compile returns the registered form of t; nil for nil or a table without
// attributes, which Linux treats as no policy.
func (c *compiler) compile(t *Table) (*table, error) {
	if t == nil {
		return nil, nil
	}
	if ct, ok := c.seen[t]; ok {
		return ct, nil
	}
	if c.seen == nil {
		c.seen = make(map[*Table]*table)
	}
	if len(c.seen) >= MaxTables || c.attrs+len(t.Attrs) > MaxAttrs {
		return nil, errTooMany
	}
	c.attrs += len(t.Attrs)
	ct := &table{max: t.MaxAttr, attrs: slices.Clone(t.Attrs)}
	c.seen[t] = ct // before the nested tables: a table may nest itself
	slices.SortFunc(ct.attrs, func(a, b Attr) int { return cmp.Compare(a.ID, b.ID) })
	for i := range ct.attrs {
		a := &ct.attrs[i]
		if i > 0 && ct.attrs[i-1].ID == a.ID {
			return nil, fmt.Errorf("attribute %d listed twice", a.ID)
		}
		if err := checkAttr(a); err != nil {
			return nil, fmt.Errorf("attribute %d: %w", a.ID, err)
		}
		if ct.max < a.ID {
			if t.MaxAttr != 0 {
				return nil, fmt.Errorf("attribute %d above the table's MaxAttr %d", a.ID, t.MaxAttr)
			}
			ct.max = a.ID
		}
	}
	if ct.max > maxAttrType {
		return nil, fmt.Errorf("MaxAttr %d above %d", ct.max, maxAttrType)
	}
	ct.nest = make([]*table, len(ct.attrs))
	for i := range ct.attrs {
		if n := ct.attrs[i].Nested; n != nil {
			if _, err := c.compile(n); err != nil {
				return nil, err
			}
			ct.nest[i] = c.nested(&ct.attrs[i])
		}
	}
	if ct.max == 0 {
		return nil, nil
	}
	return ct, nil
}

// nested returns the registered table of a's nest (nil when a has none,
// or an empty one).
func (c *compiler) nested(a *Attr) *table {
	if a.Nested == nil {
		return nil
	}
	t := c.seen[a.Nested]
	if t == nil || t.max == 0 {
		return nil
	}
	return t
}

func isSigned(t genl.AttrType) bool {
	switch t {
	case genl.TypeS8, genl.TypeS16, genl.TypeS32, genl.TypeS64, genl.TypeSint:
		return true
	}
	return false
}

func isUnsigned(t genl.AttrType) bool {
	switch t {
	case genl.TypeU8, genl.TypeU16, genl.TypeU32, genl.TypeU64, genl.TypeUint:
		return true
	}
	return false
}

// uRange and sRange are the values a type can hold, which the dump reports
// for an integer without a range.
func uRange(t genl.AttrType) (uint64, uint64) {
	switch t {
	case genl.TypeU8:
		return 0, math.MaxUint8
	case genl.TypeU16:
		return 0, math.MaxUint16
	case genl.TypeU32:
		return 0, math.MaxUint32
	}
	return 0, math.MaxUint64
}

func sRange(t genl.AttrType) (int64, int64) {
	switch t {
	case genl.TypeS8:
		return math.MinInt8, math.MaxInt8
	case genl.TypeS16:
		return math.MinInt16, math.MaxInt16
	case genl.TypeS32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// checkAttr refuses what no kernel policy can express.
func checkAttr(a *Attr) error {
	if a.ID == 0 || a.ID > maxAttrType {
		return fmt.Errorf("type out of range 1-%d", maxAttrType)
	}
	switch t := a.Type; {
	case t == genl.TypeInvalid || t > genl.TypeUint:
		return fmt.Errorf("bad type %s", t)
	case a.Nested != nil && t != genl.TypeNested && t != genl.TypeNestedArray:
		return fmt.Errorf("a %s attribute has no nested table", t)
	case a.HasRange && isSigned(t):
		lo, hi := sRange(t)
		if a.MinS > a.MaxS || a.MinS < lo || a.MaxS > hi {
			return fmt.Errorf("bad range [%d, %d] for %s", a.MinS, a.MaxS, t)
		}
	case a.HasRange && isUnsigned(t):
		_, hi := uRange(t)
		if a.MinU > a.MaxU || a.MaxU > hi {
			return fmt.Errorf("bad range [%d, %d] for %s", a.MinU, a.MaxU, t)
		}
		if a.Mask != 0 {
			return errors.New("both a range and a mask")
		}
	case a.HasRange:
		return fmt.Errorf("a range on a %s attribute", t)
	}
	if a.Mask != 0 {
		switch {
		case isUnsigned(a.Type):
			if _, hi := uRange(a.Type); a.Mask > hi {
				return fmt.Errorf("mask %#x wider than %s", a.Mask, a.Type)
			}
		case a.Type == genl.TypeBitfield32:
			if a.Mask > math.MaxUint32 {
				return fmt.Errorf("mask %#x wider than bitfield32", a.Mask)
			}
		default:
			return fmt.Errorf("a mask on a %s attribute", a.Type)
		}
	}
	switch a.Type {
	case genl.TypeBinary:
		if a.MaxLen != 0 && a.MinLen > a.MaxLen {
			return fmt.Errorf("min length %d above max length %d", a.MinLen, a.MaxLen)
		}
		if a.MinLen > maxAttrLen || a.MaxLen > maxAttrLen {
			return errors.New("length bound above 65535")
		}
	case genl.TypeString, genl.TypeNulString:
		if a.MinLen != 0 {
			return errors.New("a minimum length on a string")
		}
		if a.MaxLen > maxAttrLen {
			return errors.New("length bound above 65535")
		}
	default:
		if a.MinLen != 0 || a.MaxLen != 0 {
			return fmt.Errorf("a length bound on a %s attribute", a.Type)
		}
	}
	return nil
}

// appendAttrPolicy appends the NL_POLICY_TYPE_ATTR_* attributes that
// describe a, in the order Linux's netlink_policy_dump_write_attr writes
// them (the type last). idx is the index of a's nested table in the dump
// (ok false: none, as in an extended ack's policy).
func appendAttrPolicy(b []byte, a *Attr, nested *table, idx uint32, ok bool) []byte {
	const (
		ptType           = 1
		ptMinValueS      = 2
		ptMaxValueS      = 3
		ptMinValueU      = 4
		ptMaxValueU      = 5
		ptMinLength      = 6
		ptMaxLength      = 7
		ptPolicyIdx      = 8
		ptPolicyMaxType  = 9
		ptBitfield32Mask = 10
		ptMask           = 12
	)
	switch t := a.Type; {
	case t == genl.TypeNested || t == genl.TypeNestedArray:
		if nested != nil && ok {
			b = putU32(b, ptPolicyIdx, idx)
			b = putU32(b, ptPolicyMaxType, uint32(nested.max))
		}
	case isUnsigned(t):
		if a.Mask != 0 {
			b = putU64(b, ptMask, a.Mask)
			break
		}
		lo, hi := uRange(t)
		if a.HasRange {
			lo, hi = a.MinU, a.MaxU
		}
		b = putU64(b, ptMinValueU, lo)
		b = putU64(b, ptMaxValueU, hi)
	case isSigned(t):
		lo, hi := sRange(t)
		if a.HasRange {
			lo, hi = a.MinS, a.MaxS
		}
		b = putU64(b, ptMinValueS, uint64(lo))
		b = putU64(b, ptMaxValueS, uint64(hi))
	case t == genl.TypeBitfield32:
		b = putU32(b, ptBitfield32Mask, uint32(a.Mask))
	case t == genl.TypeBinary || t == genl.TypeString || t == genl.TypeNulString:
		if a.MinLen != 0 {
			b = putU32(b, ptMinLength, a.MinLen)
		}
		if a.MaxLen != 0 {
			b = putU32(b, ptMaxLength, a.MaxLen)
		}
	}
	return putU32(b, ptType, uint32(a.Type))
}

// order numbers the tables of the given roots as Linux's
// netlink_policy_dump_add_policy does: each root, then every table nested
// in the tables so far that is not yet numbered, breadth first, by
// attribute type.
func order(dst []*table, roots ...*table) []*table {
	add := func(t *table) {
		if t != nil && !slices.Contains(dst, t) {
			dst = append(dst, t)
		}
	}
	for _, r := range roots {
		add(r)
		for i := 0; i < len(dst); i++ {
			for _, n := range dst[i].nest {
				add(n)
			}
		}
	}
	return dst
}

// index returns the position of a, one of t.attrs, in t.attrs.
func (t *table) index(a *Attr) int {
	i, _ := slices.BinarySearchFunc(t.attrs, a.ID, func(x Attr, v uint16) int { return cmp.Compare(x.ID, v) })
	return i
}
