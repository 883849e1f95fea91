package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/ynl"
)

func init() {
	register("policy", command{
		summary: "show a generic-netlink family's attribute policies per operation, on the bus (--kernel: the kernel's)",
		args:    []string{"FAMILY"},
		flags:   policyFlags,
	})
}

// policyJSON is the JSON form of a policy.
type policyJSON struct {
	Family   string         `json:"family"`
	FamilyID uint16         `json:"id"`
	Ops      []opPolicyJSON `json:"ops"`
	Policies []tableJSON    `json:"policies"`
}

type opPolicyJSON struct {
	Op   uint32  `json:"op"`
	Name string  `json:"name,omitempty"` // from the family's description, on the bus
	Do   *uint32 `json:"do,omitempty"`
	Dump *uint32 `json:"dump,omitempty"`
}

type tableJSON struct {
	Index uint32     `json:"index"`
	Attrs []attrJSON `json:"attrs"`
}

type attrJSON struct {
	Attr           uint16  `json:"attr"`
	Type           string  `json:"type"`
	MinValue       *int64  `json:"min_value,omitempty"`
	MaxValue       *int64  `json:"max_value,omitempty"`
	MinValueU      *uint64 `json:"min_value_u,omitempty"`
	MaxValueU      *uint64 `json:"max_value_u,omitempty"`
	MinLength      *uint32 `json:"min_length,omitempty"`
	MaxLength      *uint32 `json:"max_length,omitempty"`
	Policy         *uint32 `json:"policy,omitempty"`
	PolicyMaxType  *uint32 `json:"policy_maxtype,omitempty"`
	Bitfield32Mask *uint32 `json:"bitfield32_mask,omitempty"`
	Mask           *uint64 `json:"mask,omitempty"`
}

func ptr[T any](v T, ok bool) *T {
	if !ok {
		return nil
	}
	return &v
}

func policyFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	asJSON, dial, kernel := genlFlags(fs)
	return func(ctx context.Context, e *env, args []string) error {
		c, err := dial()
		if err != nil {
			return err
		}
		defer c.Close()
		p, err := c.GetPolicy(ctx, args[0])
		if err != nil {
			return err
		}
		// On the bus, a family's description names its commands.
		var names map[uint32]string
		if !*kernel {
			spec, err := fetchSpec(ctx, c.Netlink(), args[0])
			if err != nil {
				return err
			}
			names = opNames(spec)
		}
		if !*asJSON {
			if _, err := fmt.Fprint(e.stdout, p.String()); err != nil {
				return err
			}
			if len(names) > 0 {
				fmt.Fprint(e.stdout, "commands:")
				for _, o := range p.Ops {
					if n, ok := names[o.Op]; ok {
						fmt.Fprintf(e.stdout, " %d %s", o.Op, n)
					}
				}
				fmt.Fprintln(e.stdout)
			}
			return nil
		}
		out := policyToJSON(p)
		for i := range out.Ops {
			out.Ops[i].Name = names[out.Ops[i].Op]
		}
		return writeJSON(e.stdout, out)
	}
}

// opNames maps the request commands of spec's operations to their names
// (nil spec: none).
func opNames(spec *ynl.Spec) map[uint32]string {
	if spec == nil {
		return nil
	}
	m := map[uint32]string{}
	for _, o := range spec.Ops {
		if o.Do != nil || o.Dump != nil {
			m[uint32(o.Value)] = o.Name
		}
	}
	return m
}

// policyToJSON is the JSON form of p.
func policyToJSON(p *genl.Policy) policyJSON {
	out := policyJSON{Family: p.Family, FamilyID: p.FamilyID, Ops: []opPolicyJSON{}, Policies: []tableJSON{}}
	for _, o := range p.Ops {
		out.Ops = append(out.Ops, opPolicyJSON{Op: o.Op, Do: ptr(o.Do, o.HasDo), Dump: ptr(o.Dump, o.HasDump)})
	}
	for _, t := range p.Tables {
		tj := tableJSON{Index: t.Index, Attrs: []attrJSON{}}
		for _, a := range t.Attrs {
			tj.Attrs = append(tj.Attrs, attrJSON{
				Attr: a.Attr, Type: a.Type.String(),
				MinValue:       ptr(a.MinValueS, a.Has(genl.FieldMinValueS)),
				MaxValue:       ptr(a.MaxValueS, a.Has(genl.FieldMaxValueS)),
				MinValueU:      ptr(a.MinValueU, a.Has(genl.FieldMinValueU)),
				MaxValueU:      ptr(a.MaxValueU, a.Has(genl.FieldMaxValueU)),
				MinLength:      ptr(a.MinLength, a.Has(genl.FieldMinLength)),
				MaxLength:      ptr(a.MaxLength, a.Has(genl.FieldMaxLength)),
				Policy:         ptr(a.PolicyIdx, a.Has(genl.FieldPolicyIdx)),
				PolicyMaxType:  ptr(a.PolicyMaxType, a.Has(genl.FieldPolicyMaxType)),
				Bitfield32Mask: ptr(a.Bitfield32Mask, a.Has(genl.FieldBitfield32Mask)),
				Mask:           ptr(a.Mask, a.Has(genl.FieldMask)),
			})
		}
		out.Policies = append(out.Policies, tj)
	}
	return out
}
