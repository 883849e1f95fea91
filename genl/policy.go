package genl

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/nlbus/netlink"
)

// AttrType is the type of an attribute in a policy (NL_ATTR_TYPE_*,
// include/uapi/linux/netlink.h).
type AttrType uint32

// Attribute types.
const (
	TypeInvalid     AttrType = 0
	TypeFlag        AttrType = 1
	TypeU8          AttrType = 2
	TypeU16         AttrType = 3
	TypeU32         AttrType = 4
	TypeU64         AttrType = 5
	TypeS8          AttrType = 6
	TypeS16         AttrType = 7
	TypeS32         AttrType = 8
	TypeS64         AttrType = 9
	TypeBinary      AttrType = 10
	TypeString      AttrType = 11
	TypeNulString   AttrType = 12
	TypeNested      AttrType = 13
	TypeNestedArray AttrType = 14
	TypeBitfield32  AttrType = 15
	TypeSint        AttrType = 16
	TypeUint        AttrType = 17
)

var attrTypeNames = [...]string{
	"invalid", "flag", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64",
	"binary", "string", "nul-string", "nested", "nested-array", "bitfield32",
	"sint", "uint",
}

// String returns the type's name ("u32", "nul-string", ...), or its number.
func (t AttrType) String() string {
	if int(t) < len(attrTypeNames) {
		return attrTypeNames[t]
	}
	return "type(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// PolicyField is a set of the optional fields of an AttrPolicy: the
// NL_POLICY_TYPE_ATTR_* attributes the controller sent for it.
type PolicyField uint16

// Optional fields of an AttrPolicy.
const (
	FieldMinValueS PolicyField = 1 << iota
	FieldMaxValueS
	FieldMinValueU
	FieldMaxValueU
	FieldMinLength
	FieldMaxLength
	FieldPolicyIdx
	FieldPolicyMaxType
	FieldBitfield32Mask
	FieldMask
)

// AttrPolicy is the policy of one attribute: its type and the limits the
// kernel (or bus service) checks. A limit is meaningful only when its field
// is in Fields.
type AttrPolicy struct {
	// Attr is the attribute's type number within its policy table.
	Attr uint16
	// Type is the attribute's type.
	Type AttrType
	// Fields says which of the limits below were sent.
	Fields PolicyField
	// MinValueS and MaxValueS bound signed integers.
	MinValueS, MaxValueS int64
	// MinValueU and MaxValueU bound unsigned integers.
	MinValueU, MaxValueU uint64
	// MinLength and MaxLength bound the payload length of binary and
	// string attributes, in bytes (a NUL-terminated string's bound excludes
	// the NUL).
	MinLength, MaxLength uint32
	// PolicyIdx is the table the attributes nested in this one follow, and
	// PolicyMaxType that table's highest attribute type.
	PolicyIdx, PolicyMaxType uint32
	// Bitfield32Mask is the valid bits of a bitfield32.
	Bitfield32Mask uint32
	// Mask is the valid bits of an unsigned integer.
	Mask uint64
}

// Has reports whether every field in f was sent.
func (a *AttrPolicy) Has(f PolicyField) bool { return a.Fields&f == f }

// PolicyTable is one policy: the policies of the attributes of a message or
// of a nest, by attribute type.
type PolicyTable struct {
	// Index identifies the table within its Policy; nested attributes and
	// operations refer to tables by it.
	Index uint32
	// Attrs are the attributes' policies, sorted by Attr.
	Attrs []AttrPolicy
}

// Attr returns the policy of attribute typ.
func (t *PolicyTable) Attr(typ uint16) (AttrPolicy, bool) {
	i, ok := slices.BinarySearchFunc(t.Attrs, typ, func(a AttrPolicy, v uint16) int { return cmp.Compare(a.Attr, v) })
	if !ok {
		return AttrPolicy{}, false
	}
	return t.Attrs[i], true
}

// OpPolicy maps an operation to the tables its do and dump requests are
// validated against.
type OpPolicy struct {
	// Op is the command.
	Op uint32
	// Do is the table of do requests, valid when HasDo.
	Do    uint32
	HasDo bool
	// Dump is the table of dump requests, valid when HasDump.
	Dump    uint32
	HasDump bool
}

// Policy is a family's attribute policies as CTRL_CMD_GETPOLICY reports
// them: which table each operation uses, and the tables.
type Policy struct {
	// Family is the family's name, when known.
	Family string
	// FamilyID is the family's ID (CTRL_ATTR_FAMILY_ID of the replies).
	FamilyID uint16
	// Ops are the operations' tables, sorted by Op.
	Ops []OpPolicy
	// Tables are the policy tables, sorted by Index: every table an
	// operation or a nested attribute refers to, including those without
	// attributes (for which Linux sends nothing).
	Tables []PolicyTable
}

// Op returns the tables of operation op.
func (p *Policy) Op(op uint32) (OpPolicy, bool) {
	i, ok := slices.BinarySearchFunc(p.Ops, op, func(o OpPolicy, v uint32) int { return cmp.Compare(o.Op, v) })
	if !ok {
		return OpPolicy{}, false
	}
	return p.Ops[i], true
}

// Table returns the table with index idx.
func (p *Policy) Table(idx uint32) (*PolicyTable, bool) {
	i, ok := slices.BinarySearchFunc(p.Tables, idx, func(t PolicyTable, v uint32) int { return cmp.Compare(t.Index, v) })
	if !ok {
		return nil, false
	}
	return &p.Tables[i], true
}

// ForOp returns the part of p that concerns operation op: its OpPolicy and
// the tables reachable from it through nested attributes, as a controller
// answers a GETPOLICY request that names the operation. It reports false
// when p has no entry for op.
func (p *Policy) ForOp(op uint32) (*Policy, bool) {
	o, ok := p.Op(op)
	if !ok {
		return nil, false
	}
	out := &Policy{Family: p.Family, FamilyID: p.FamilyID, Ops: []OpPolicy{o}}
	seen := map[uint32]bool{}
	var walk func(idx uint32)
	walk = func(idx uint32) {
		if seen[idx] {
			return
		}
		seen[idx] = true
		t, ok := p.Table(idx)
		if !ok {
			return
		}
		out.Tables = append(out.Tables, *t)
		for _, a := range t.Attrs {
			if a.Has(FieldPolicyIdx) {
				walk(a.PolicyIdx)
			}
		}
	}
	if o.HasDo {
		walk(o.Do)
	}
	if o.HasDump {
		walk(o.Dump)
	}
	slices.SortFunc(out.Tables, func(a, b PolicyTable) int { return cmp.Compare(a.Index, b.Index) })
	return out, true
}

// ParsePolicy decodes the replies of a CTRL_CMD_GETPOLICY dump into a
// Policy. Each message's Data holds CTRL_ATTR_FAMILY_ID and either
// CTRL_ATTR_OP_POLICY (operation to tables) or CTRL_ATTR_POLICY (table
// index, attribute type, NL_POLICY_TYPE_ATTR_*). Unknown attributes are
// ignored; a malformed one is an error. Nothing in the result aliases msgs.
func ParsePolicy(msgs []Message) (*Policy, error) {
	var pb policyBuilder
	for i := range msgs {
		if err := pb.add(msgs[i].Data); err != nil {
			return nil, err
		}
	}
	return pb.finish(), nil
}

// policyBuilder accumulates GETPOLICY replies, one attribute or operation
// per message, indexing what it has seen so far.
type policyBuilder struct {
	p      Policy
	tables map[uint32]int // table index -> position in p.Tables
}

func (pb *policyBuilder) add(b []byte) error {
	var ad netlink.AttributeDecoder
	ad.Reset(b)
	for ad.Next() {
		switch ad.Type() {
		case attrFamilyID:
			pb.p.FamilyID = ad.Uint16()
		case attrOpPolicy:
			ad.Nested(pb.addOps)
		case attrPolicy:
			ad.Nested(pb.addTables)
		}
	}
	if err := ad.Err(); err != nil {
		return fmt.Errorf("genl: policy attributes: %w", err)
	}
	return nil
}

func (pb *policyBuilder) addOps(nd *netlink.AttributeDecoder) error {
	for nd.Next() {
		// Entries are kept in the order received and merged in finish:
		// Linux (seen on 6.18) reports a dump-only operation under command
		// 0, so several entries may share a number until remapOps fixes them.
		o := OpPolicy{Op: uint32(nd.Type())}
		nd.Nested(func(od *netlink.AttributeDecoder) error {
			for od.Next() {
				switch od.Type() {
				case attrPolicyDo:
					o.Do, o.HasDo = od.Uint32(), true
				case attrPolicyDump:
					o.Dump, o.HasDump = od.Uint32(), true
				}
			}
			return nil
		})
		pb.p.Ops = append(pb.p.Ops, o)
	}
	return nil
}

// remapOps gives the operations reported under command 0 their real
// number. Linux's controller sends one OP_POLICY message per operation that
// has a policy, in the order GETFAMILY lists the operations, and sets
// CmdCapHasPolicy on exactly those; so the k-th entry is the k-th such
// operation. ops is the family's operation list; a request for a single
// operation passes just that one. Nothing changes unless the counts agree
// and the family has no real operation 0.
func (pb *policyBuilder) remapOps(ops []Op) {
	var withPolicy []uint32
	for _, o := range ops {
		if o.ID == 0 {
			return
		}
		if o.HasPolicy() || len(ops) == 1 {
			withPolicy = append(withPolicy, o.ID)
		}
	}
	if len(withPolicy) != len(pb.p.Ops) {
		return
	}
	for i := range pb.p.Ops {
		if pb.p.Ops[i].Op == 0 {
			pb.p.Ops[i].Op = withPolicy[i]
		}
	}
}

func (pb *policyBuilder) addTables(nd *netlink.AttributeDecoder) error {
	for nd.Next() {
		idx := uint32(nd.Type())
		if pb.tables == nil {
			pb.tables = make(map[uint32]int)
		}
		ti, ok := pb.tables[idx]
		if !ok {
			ti = len(pb.p.Tables)
			pb.tables[idx] = ti
			pb.p.Tables = append(pb.p.Tables, PolicyTable{Index: idx})
		}
		nd.Nested(func(td *netlink.AttributeDecoder) error {
			for td.Next() {
				a := AttrPolicy{Attr: td.Type()}
				td.Nested(a.decode)
				t := &pb.p.Tables[ti]
				t.Attrs = append(t.Attrs, a)
			}
			return nil
		})
	}
	return nil
}

func (a *AttrPolicy) decode(ad *netlink.AttributeDecoder) error {
	for ad.Next() {
		switch ad.Type() {
		case ptType:
			a.Type = AttrType(ad.Uint32())
		case ptMinValueS:
			a.MinValueS = ad.Int64()
			a.Fields |= FieldMinValueS
		case ptMaxValueS:
			a.MaxValueS = ad.Int64()
			a.Fields |= FieldMaxValueS
		case ptMinValueU:
			a.MinValueU = ad.Uint64()
			a.Fields |= FieldMinValueU
		case ptMaxValueU:
			a.MaxValueU = ad.Uint64()
			a.Fields |= FieldMaxValueU
		case ptMinLength:
			a.MinLength = ad.Uint32()
			a.Fields |= FieldMinLength
		case ptMaxLength:
			a.MaxLength = ad.Uint32()
			a.Fields |= FieldMaxLength
		case ptPolicyIdx:
			a.PolicyIdx = ad.Uint32()
			a.Fields |= FieldPolicyIdx
		case ptPolicyMaxType:
			a.PolicyMaxType = ad.Uint32()
			a.Fields |= FieldPolicyMaxType
		case ptBitfield32Mask:
			a.Bitfield32Mask = ad.Uint32()
			a.Fields |= FieldBitfield32Mask
		case ptMask:
			a.Mask = ad.Uint64()
			a.Fields |= FieldMask
		}
	}
	return nil
}

// finish sorts what was gathered; an attribute sent twice keeps its last
// description.
func (pb *policyBuilder) finish() *Policy {
	p := pb.p
	slices.SortStableFunc(p.Ops, func(a, b OpPolicy) int { return cmp.Compare(a.Op, b.Op) })
	ops := p.Ops[:0]
	for _, o := range p.Ops {
		if n := len(ops); n > 0 && ops[n-1].Op == o.Op {
			last := &ops[n-1]
			if o.HasDo {
				last.Do, last.HasDo = o.Do, true
			}
			if o.HasDump {
				last.Dump, last.HasDump = o.Dump, true
			}
			continue
		}
		ops = append(ops, o)
	}
	p.Ops = ops
	slices.SortStableFunc(p.Tables, func(a, b PolicyTable) int { return cmp.Compare(a.Index, b.Index) })
	for i := range p.Tables {
		t := &p.Tables[i]
		slices.SortStableFunc(t.Attrs, func(a, b AttrPolicy) int { return cmp.Compare(a.Attr, b.Attr) })
		// Keep the last of equal attributes.
		out := t.Attrs[:0]
		for j, a := range t.Attrs {
			if j+1 < len(t.Attrs) && t.Attrs[j+1].Attr == a.Attr {
				continue
			}
			out = append(out, a)
		}
		t.Attrs = out
	}
	addReferencedTables(&p)
	return &p
}

// maxTableIndex is the highest index a policy table can have: tables are
// nested attributes whose type is the index (NLA_TYPE_MASK).
const maxTableIndex = 0x3fff

// addReferencedTables adds an empty table for every index an operation or a
// nested attribute refers to that p lacks: Linux sends nothing for a table
// without attributes (netdev's op 1 dump table, seen on 6.18), yet it is a
// table, and Policy.Table must find it.
func addReferencedTables(p *Policy) {
	var missing []uint32
	need := func(idx uint32) {
		// A table index is an attribute type on the wire (14 bits): a
		// reference beyond that is not to a table.
		if idx > maxTableIndex {
			return
		}
		if _, ok := p.Table(idx); !ok && !slices.Contains(missing, idx) {
			missing = append(missing, idx)
		}
	}
	for _, o := range p.Ops {
		if o.HasDo {
			need(o.Do)
		}
		if o.HasDump {
			need(o.Dump)
		}
	}
	for _, t := range p.Tables {
		for _, a := range t.Attrs {
			if a.Has(FieldPolicyIdx) {
				need(a.PolicyIdx)
			}
		}
	}
	if len(missing) == 0 {
		return
	}
	for _, idx := range missing {
		p.Tables = append(p.Tables, PolicyTable{Index: idx})
	}
	slices.SortStableFunc(p.Tables, func(a, b PolicyTable) int { return cmp.Compare(a.Index, b.Index) })
}

// Messages encodes p as the replies of a CTRL_CMD_GETPOLICY dump, the way
// Linux's controller lays them out: one message per operation, then one per
// attribute of each table (a table without attributes gets an empty one).
// It is what a controller, such as the bus's, sends; ParsePolicy reverses it.
func (p *Policy) Messages() ([]Message, error) {
	var out []Message
	hdr := Header{Command: CmdGetPolicy, Version: ctrlVersion}
	var ae netlink.AttributeEncoder
	for _, o := range p.Ops {
		ae.Reset(nil)
		ae.Uint16(attrFamilyID, p.FamilyID)
		n := ae.BeginNested(attrOpPolicy)
		m := ae.BeginNested(uint16(o.Op))
		if o.HasDo {
			ae.Uint32(attrPolicyDo, o.Do)
		}
		if o.HasDump {
			ae.Uint32(attrPolicyDump, o.Dump)
		}
		ae.EndNested(m)
		ae.EndNested(n)
		b, err := ae.Bytes()
		if err != nil {
			return nil, err
		}
		out = append(out, Message{Header: hdr, Data: b})
	}
	for _, t := range p.Tables {
		attrs := t.Attrs
		if len(attrs) == 0 {
			attrs = []AttrPolicy{{}} // a placeholder, skipped below
		}
		for i := range attrs {
			ae.Reset(nil)
			ae.Uint16(attrFamilyID, p.FamilyID)
			n := ae.BeginNested(attrPolicy)
			m := ae.BeginNested(uint16(t.Index))
			if len(t.Attrs) > 0 {
				a := &attrs[i]
				k := ae.BeginNested(a.Attr)
				a.encode(&ae)
				ae.EndNested(k)
			}
			ae.EndNested(m)
			ae.EndNested(n)
			b, err := ae.Bytes()
			if err != nil {
				return nil, err
			}
			out = append(out, Message{Header: hdr, Data: b})
		}
	}
	return out, nil
}

func (a *AttrPolicy) encode(ae *netlink.AttributeEncoder) {
	ae.Uint32(ptType, uint32(a.Type))
	if a.Has(FieldMinValueS) {
		ae.Int64(ptMinValueS, a.MinValueS)
	}
	if a.Has(FieldMaxValueS) {
		ae.Int64(ptMaxValueS, a.MaxValueS)
	}
	if a.Has(FieldMinValueU) {
		ae.Uint64(ptMinValueU, a.MinValueU)
	}
	if a.Has(FieldMaxValueU) {
		ae.Uint64(ptMaxValueU, a.MaxValueU)
	}
	if a.Has(FieldMinLength) {
		ae.Uint32(ptMinLength, a.MinLength)
	}
	if a.Has(FieldMaxLength) {
		ae.Uint32(ptMaxLength, a.MaxLength)
	}
	if a.Has(FieldPolicyIdx) {
		ae.Uint32(ptPolicyIdx, a.PolicyIdx)
	}
	if a.Has(FieldPolicyMaxType) {
		ae.Uint32(ptPolicyMaxType, a.PolicyMaxType)
	}
	if a.Has(FieldBitfield32Mask) {
		ae.Uint32(ptBitfield32Mask, a.Bitfield32Mask)
	}
	if a.Has(FieldMask) {
		ae.Uint64(ptMask, a.Mask)
	}
}

// String describes the attribute's policy on one line, such as
// "nul-string max-len 15" or "nested policy 2 (max attr 5)".
func (a AttrPolicy) String() string {
	var b strings.Builder
	b.WriteString(a.Type.String())
	rng := func(name string, hasMin, hasMax bool, lo, hi string) {
		switch {
		case hasMin && hasMax:
			fmt.Fprintf(&b, " %s [%s, %s]", name, lo, hi)
		case hasMin:
			fmt.Fprintf(&b, " min %s", lo)
		case hasMax:
			fmt.Fprintf(&b, " max %s", hi)
		}
	}
	rng("range", a.Has(FieldMinValueS), a.Has(FieldMaxValueS),
		strconv.FormatInt(a.MinValueS, 10), strconv.FormatInt(a.MaxValueS, 10))
	rng("range", a.Has(FieldMinValueU), a.Has(FieldMaxValueU),
		strconv.FormatUint(a.MinValueU, 10), strconv.FormatUint(a.MaxValueU, 10))
	if a.Has(FieldMinLength) {
		fmt.Fprintf(&b, " min-len %d", a.MinLength)
	}
	if a.Has(FieldMaxLength) {
		fmt.Fprintf(&b, " max-len %d", a.MaxLength)
	}
	if a.Has(FieldPolicyIdx) {
		fmt.Fprintf(&b, " policy %d", a.PolicyIdx)
		if a.Has(FieldPolicyMaxType) {
			fmt.Fprintf(&b, " (max attr %d)", a.PolicyMaxType)
		}
	}
	if a.Has(FieldBitfield32Mask) {
		fmt.Fprintf(&b, " mask %#x", a.Bitfield32Mask)
	}
	if a.Has(FieldMask) {
		fmt.Fprintf(&b, " mask %#x", a.Mask)
	}
	return b.String()
}

// String prints p as a readable table: each operation's do and dump
// tables, then each table's attributes.
//
//	family nlctrl (id 16)
//	op   do  dump
//	3    0   0
//	10   -   1
//	policy 0:
//	  attr 1   u16 range [0, 65535]
//	  attr 2   nul-string max-len 15
func (p *Policy) String() string {
	var b strings.Builder
	if p.Family != "" {
		fmt.Fprintf(&b, "family %s (id %d)\n", p.Family, p.FamilyID)
	} else {
		fmt.Fprintf(&b, "family id %d\n", p.FamilyID)
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(p.Ops) > 0 {
		fmt.Fprintln(tw, "op\tdo\tdump")
		for _, o := range p.Ops {
			fmt.Fprintf(tw, "%d\t%s\t%s\n", o.Op, idxOrDash(o.Do, o.HasDo), idxOrDash(o.Dump, o.HasDump))
		}
		tw.Flush()
	}
	for _, t := range p.Tables {
		fmt.Fprintf(&b, "policy %d:\n", t.Index)
		for _, a := range t.Attrs {
			fmt.Fprintf(tw, "  attr %d\t%s\n", a.Attr, a.String())
		}
		tw.Flush()
	}
	return b.String()
}

func idxOrDash(v uint32, ok bool) string {
	if !ok {
		return "-"
	}
	return strconv.FormatUint(uint64(v), 10)
}
