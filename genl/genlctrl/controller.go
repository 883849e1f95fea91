package genlctrl

import "github.com/nlbus/netlink/genl"

// controller is nlctrl as Linux registers it (net/netlink/genetlink.c):
// version 2, no family-wide attributes, GETFAMILY (do checked liberally,
// dump strictly: what Linux 6.18 answers) and GETPOLICY (dump, strict), and
// the notify group.
func controller(c *Config) Family {
	id := Attr{ID: 1, Type: genl.TypeU16}                               // CTRL_ATTR_FAMILY_ID
	name := Attr{ID: 2, Type: genl.TypeNulString, MaxLen: genl.NameMax} // CTRL_ATTR_FAMILY_NAME
	op := Attr{ID: 10, Type: genl.TypeU32}                              // CTRL_ATTR_OP
	family := &Table{Attrs: []Attr{id, name}}
	policy := &Table{Attrs: []Attr{id, name, op}}
	ops := []Op{{
		Cmd: genl.CmdGetFamily, Flags: genl.CmdCapDo | genl.CmdCapDump,
		DoPolicy: family, DumpPolicy: family,
		Validate: DontValidateStrict,
	}}
	if !c.NoPolicy {
		ops = append(ops, Op{Cmd: genl.CmdGetPolicy, Flags: genl.CmdCapDump, DumpPolicy: policy})
	}
	return Family{
		ID: genl.CtrlID, Name: "nlctrl", Version: 2, Ops: ops,
		Groups: []genl.Group{{ID: c.NotifyGroup, Name: "notify"}},
	}
}
