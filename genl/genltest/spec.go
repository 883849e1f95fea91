package genltest

import (
	"fmt"

	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

// Spec describes a family as the controller reported it (GetFamily and
// GetPolicy) in the terms a service registers it: its operations as given,
// its policy turned back into tables (a table the policy refers to but does
// not show is taken as empty, with one attribute type). p may be nil.
// TestKernelMirror re-registers the kernel's families with it.
func Spec(fam genl.Family, p *genl.Policy) (*genlctrl.Family, error) {
	f := &Family{Family: fam, Policy: p}
	spec := &genlctrl.Family{
		ID: f.ID, Name: f.Name, Version: f.Version, HeaderSize: f.HeaderSize, MaxAttr: f.MaxAttr,
		Groups: f.Groups,
	}
	for _, o := range f.Ops {
		if o.ID > 0xff {
			return nil, fmt.Errorf("operation %d: commands are 8 bits", o.ID)
		}
		spec.Ops = append(spec.Ops, genlctrl.Op{Cmd: uint8(o.ID), Flags: o.Flags})
	}
	if f.Policy == nil {
		return spec, nil
	}
	tables := tablesOf(f.Policy)
	// Linux reports a dump-only operation under command 0 (see genl's
	// remapOps): such entries name, by position, the operations flagged
	// as having a policy.
	var withPolicy []int
	for i, o := range f.Ops {
		if o.HasPolicy() {
			withPolicy = append(withPolicy, i)
		}
	}
	for k, op := range f.Policy.Ops {
		i := -1
		for j, o := range f.Ops {
			if o.ID == op.Op {
				i = j
				break
			}
		}
		if i < 0 && op.Op == 0 && len(withPolicy) == len(f.Policy.Ops) {
			i = withPolicy[k]
		}
		if i < 0 {
			return nil, fmt.Errorf("a policy for operation %d, which the family lacks", op.Op)
		}
		if op.HasDo {
			spec.Ops[i].DoPolicy = ref(tables, op.Do)
		}
		if op.HasDump {
			spec.Ops[i].DumpPolicy = ref(tables, op.Dump)
		}
	}
	return spec, nil
}

// ref returns the table an operation refers to. A table the dump did not
// show has no attributes (Linux sends nothing for it); it still is a table,
// of an unknown size, taken as 1.
func ref(tables map[uint32]*genlctrl.Table, idx uint32) *genlctrl.Table {
	t := tables[idx]
	if t == nil {
		t = &genlctrl.Table{}
		tables[idx] = t
	}
	if t.MaxAttr == 0 {
		t.MaxAttr = 1
	}
	return t
}

// tablesOf turns p's tables into genlctrl tables, by index.
func tablesOf(p *genl.Policy) map[uint32]*genlctrl.Table {
	tables := make(map[uint32]*genlctrl.Table, len(p.Tables))
	get := func(idx uint32) *genlctrl.Table {
		t := tables[idx]
		if t == nil {
			t = &genlctrl.Table{}
			tables[idx] = t
		}
		return t
	}
	for _, pt := range p.Tables {
		t := get(pt.Index)
		for _, a := range pt.Attrs {
			t.Attrs = append(t.Attrs, attrOf(a, get))
			t.MaxAttr = max(t.MaxAttr, a.Attr)
		}
	}
	// A nest's maximum type is the table's.
	for _, pt := range p.Tables {
		for _, a := range pt.Attrs {
			if a.Has(genl.FieldPolicyIdx | genl.FieldPolicyMaxType) {
				t := get(a.PolicyIdx)
				t.MaxAttr = max(t.MaxAttr, uint16(min(a.PolicyMaxType, 0x3fff)))
			}
		}
	}
	return tables
}

// attrOf is the genlctrl policy that GETPOLICY reports as a.
func attrOf(a genl.AttrPolicy, table func(uint32) *genlctrl.Table) genlctrl.Attr {
	at := genlctrl.Attr{ID: a.Attr, Type: a.Type}
	switch a.Type {
	case genl.TypeU8, genl.TypeU16, genl.TypeU32, genl.TypeU64, genl.TypeUint:
		if a.Has(genl.FieldMask) {
			at.Mask = a.Mask
		} else if a.Has(genl.FieldMinValueU | genl.FieldMaxValueU) {
			at.HasRange, at.MinU, at.MaxU = true, a.MinValueU, a.MaxValueU
		}
	case genl.TypeS8, genl.TypeS16, genl.TypeS32, genl.TypeS64, genl.TypeSint:
		if a.Has(genl.FieldMinValueS | genl.FieldMaxValueS) {
			at.HasRange, at.MinS, at.MaxS = true, a.MinValueS, a.MaxValueS
		}
	case genl.TypeBitfield32:
		at.Mask = uint64(a.Bitfield32Mask)
	case genl.TypeBinary:
		at.MinLen, at.MaxLen = a.MinLength, a.MaxLength
	case genl.TypeString, genl.TypeNulString:
		at.MaxLen = a.MaxLength
	case genl.TypeNested, genl.TypeNestedArray:
		if a.Has(genl.FieldPolicyIdx) {
			at.Nested = table(a.PolicyIdx)
		}
	}
	return at
}
