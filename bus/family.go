package bus

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

// The family registry on the bus: the generic-netlink controller answers at
// port 0 with type genl.CtrlID; services register families with
// CmdNewFamily. See docs/PROTOCOL.md §4 and §13.
const (
	// NotifyGroup is the controller's "notify" group on the bus (Linux's
	// is 0x10; on the bus that number is an application group).
	NotifyGroup = 0x80000000
	// FirstFamilyGroup is the first group ID allocated to families.
	FirstFamilyGroup = 0x80000001
	// FirstFamilyID is the first family ID allocated (message type).
	FirstFamilyID = 0x20
)

// Registration commands of the bus-control family.
const (
	CmdNewFamily = 8 // register a family (the spec attributes below); reply: CmdNewFamily with AttrFamilyID, AttrFamilyInfo
	CmdDelFamily = 9 // AttrFamilyID: unregister a family this connection owns
	// CmdGetDescription asks for the description a family registered with
	// (AttrFamilyName or AttrFamilyID); reply: CmdGetDescription with
	// AttrFamilyID, AttrFamilyName and AttrFamilyDescription.
	CmdGetDescription = 10
)

// Registration attributes of the bus-control family.
const (
	AttrFamilyName       = 22 // string
	AttrFamilyVersion    = 23 // u32
	AttrFamilyHeaderSize = 24 // u32
	AttrFamilyMaxAttr    = 25 // u32
	AttrFamilyOp         = 26 // nested FamOp*, once per operation
	AttrFamilyPolicy     = 27 // nested Pol*, once per policy table; tables are numbered 0, 1, ... in order
	AttrFamilyGroup      = 28 // string: a multicast group's name, once per group
	AttrFamilyID         = 29 // u16 family ID (reply; CmdDelFamily)
	AttrFamilyInfo       = 30 // nested: the family as GETFAMILY reports it (CTRL_ATTR_*)
	// AttrFamilyDescription is binary: the family's description, the text
	// of a YNL spec (package genl/ynl), at most MaxDescription bytes.
	AttrFamilyDescription = 31
)

// MaxDescription bounds FamilySpec.Description: with the family's policies
// it fits in one datagram of the default size (32 KiB), and the daemon
// keeps no more than that per family. ynl.Strip makes a kernel spec fit.
const MaxDescription = 16 << 10

// Attributes nested in AttrFamilyOp.
const (
	FamOpCmd        = 1 // u8 command
	FamOpFlags      = 2 // u32 genl.OpFlags (CmdCapDo, CmdCapDump, AdminPerm, UnsAdminPerm)
	FamOpDoPolicy   = 3 // u32 table number
	FamOpDumpPolicy = 4 // u32 table number
	FamOpName       = 5 // string: the command's name, for access rules (optional)
)

// Attributes nested in AttrFamilyPolicy.
const (
	PolMaxAttr = 1 // u16
	PolAttr    = 2 // nested PolAttr*, once per attribute
)

// Attributes nested in PolAttr.
const (
	PolAttrID     = 1  // u16 attribute type
	PolAttrType   = 2  // u32 genl.AttrType
	PolAttrMinS   = 3  // s64 (with PolAttrMaxS: a range)
	PolAttrMaxS   = 4  // s64
	PolAttrMinU   = 5  // u64 (with PolAttrMaxU: a range)
	PolAttrMaxU   = 6  // u64
	PolAttrMinLen = 7  // u32
	PolAttrMaxLen = 8  // u32
	PolAttrMask   = 9  // u64
	PolAttrNested = 10 // u32 number of an earlier table (lower number)
)

// Op is one command of a FamilySpec.
type Op struct {
	Cmd uint8
	// Flags: genl.CmdCapDo and/or genl.CmdCapDump, and genl.AdminPerm
	// for a command only root and the admin groups may call (unless an
	// access rule says otherwise).
	Flags genl.OpFlags
	// DoPolicy and DumpPolicy are checked by the daemon before a request
	// reaches the service. Nested tables may not refer back to a table
	// that contains them (no recursive policies on the bus, yet).
	DoPolicy, DumpPolicy *genlctrl.Table
	// Name, optional, names the command so that access rules may name it
	// (docs/BUS.md); at most 64 bytes, each name once per family.
	Name string
}

// FamilySpec is a family as a service registers it on the bus.
type FamilySpec struct {
	Name                         string
	Version, HeaderSize, MaxAttr uint32
	Ops                          []Op
	Groups                       []string
	// Description, optional, describes the family to clients by names:
	// the text of a YNL spec (see package genl/ynl and `nlbus call`), at
	// most MaxDescription bytes. The daemon keeps it as given; clients
	// fetch it with GetDescription.
	Description []byte
}

// Limits of a registration message.
const (
	maxSpecOps    = 256
	maxSpecTables = genlctrl.MaxTables
	maxSpecAttrs  = genlctrl.MaxAttrs
)

var errRecursivePolicy = errors.New("nlbus: a policy table nests itself")

// AppendFamilySpec encodes spec as CmdNewFamily attributes. A Description
// longer than MaxDescription is an error wrapping EMSGSIZE.
func AppendFamilySpec(ae *netlink.AttributeEncoder, spec *FamilySpec) error {
	if len(spec.Description) > MaxDescription {
		return errDescriptionSize(spec.Name, len(spec.Description))
	}
	// Number the tables so that a nested table comes before its parent.
	var tables []*genlctrl.Table
	index := map[*genlctrl.Table]int{}
	var visit func(t *genlctrl.Table, path map[*genlctrl.Table]bool) error
	visit = func(t *genlctrl.Table, path map[*genlctrl.Table]bool) error {
		if t == nil {
			return nil
		}
		if _, ok := index[t]; ok {
			return nil
		}
		if path[t] {
			return errRecursivePolicy
		}
		path[t] = true
		for i := range t.Attrs {
			if err := visit(t.Attrs[i].Nested, path); err != nil {
				return err
			}
		}
		delete(path, t)
		index[t] = len(tables)
		tables = append(tables, t)
		return nil
	}
	for _, o := range spec.Ops {
		if err := visit(o.DoPolicy, map[*genlctrl.Table]bool{}); err != nil {
			return err
		}
		if err := visit(o.DumpPolicy, map[*genlctrl.Table]bool{}); err != nil {
			return err
		}
	}
	ae.String(AttrFamilyName, spec.Name)
	ae.Uint32(AttrFamilyVersion, spec.Version)
	ae.Uint32(AttrFamilyHeaderSize, spec.HeaderSize)
	ae.Uint32(AttrFamilyMaxAttr, spec.MaxAttr)
	for _, t := range tables {
		tok := ae.BeginNested(AttrFamilyPolicy)
		ae.Uint16(PolMaxAttr, t.MaxAttr)
		for _, a := range t.Attrs {
			at := ae.BeginNested(PolAttr)
			ae.Uint16(PolAttrID, a.ID)
			ae.Uint32(PolAttrType, uint32(a.Type))
			if a.HasRange {
				ae.Int64(PolAttrMinS, a.MinS)
				ae.Int64(PolAttrMaxS, a.MaxS)
				ae.Uint64(PolAttrMinU, a.MinU)
				ae.Uint64(PolAttrMaxU, a.MaxU)
			}
			if a.MinLen != 0 {
				ae.Uint32(PolAttrMinLen, a.MinLen)
			}
			if a.MaxLen != 0 {
				ae.Uint32(PolAttrMaxLen, a.MaxLen)
			}
			if a.Mask != 0 {
				ae.Uint64(PolAttrMask, a.Mask)
			}
			if a.Nested != nil {
				ae.Uint32(PolAttrNested, uint32(index[a.Nested]))
			}
			ae.EndNested(at)
		}
		ae.EndNested(tok)
	}
	for _, o := range spec.Ops {
		tok := ae.BeginNested(AttrFamilyOp)
		ae.Uint8(FamOpCmd, o.Cmd)
		ae.Uint32(FamOpFlags, uint32(o.Flags))
		if o.DoPolicy != nil {
			ae.Uint32(FamOpDoPolicy, uint32(index[o.DoPolicy]))
		}
		if o.DumpPolicy != nil {
			ae.Uint32(FamOpDumpPolicy, uint32(index[o.DumpPolicy]))
		}
		if o.Name != "" {
			ae.String(FamOpName, o.Name)
		}
		ae.EndNested(tok)
	}
	for _, g := range spec.Groups {
		ae.String(AttrFamilyGroup, g)
	}
	if len(spec.Description) > 0 {
		ae.Raw(AttrFamilyDescription, spec.Description)
	}
	return nil
}

// errDescriptionSize is the error for a description of n bytes.
func errDescriptionSize(name string, n int) error {
	return fmt.Errorf("nlbus: family %q: a description of %d bytes (at most %d): %w", name, n, MaxDescription, syscall.EMSGSIZE)
}

// ParseFamilySpec decodes a CmdNewFamily payload (genl header included)
// into the family the daemon registers. It never panics and bounds what it
// allocates by the limits of genlctrl (tables, attributes) and 256 ops.
func ParseFamilySpec(data []byte) (genlctrl.Family, error) {
	var (
		f      genlctrl.Family
		tables []*genlctrl.Table
		nattrs int
		perr   error
	)
	fail := func(format string, a ...any) error {
		if perr == nil {
			perr = fmt.Errorf("nlbus: family spec: "+format, a...)
		}
		return perr
	}
	table := func(n uint32) *genlctrl.Table {
		if int(n) >= len(tables) {
			fail("table %d is not defined before its use", n)
			return nil
		}
		return tables[n]
	}
	cmd, attrs, err := controlHeader(data)
	if err != nil {
		return f, err
	}
	if cmd != CmdNewFamily {
		return f, fmt.Errorf("nlbus: command %d is not new-family", cmd)
	}
	ad := netlink.NewAttributeDecoder(attrs)
	for ad.Next() && perr == nil {
		switch ad.Type() {
		case AttrFamilyName:
			f.Name = ad.String()
		case AttrFamilyVersion:
			f.Version = ad.Uint32()
		case AttrFamilyHeaderSize:
			f.HeaderSize = ad.Uint32()
		case AttrFamilyMaxAttr:
			f.MaxAttr = ad.Uint32()
		case AttrFamilyDescription:
			if f.Description != nil {
				fail("the description is given twice")
				break
			}
			if ad.Len() > MaxDescription {
				perr = errDescriptionSize(f.Name, ad.Len())
				break
			}
			f.Description = ad.CopyBytes()
		case AttrFamilyGroup:
			if len(f.Groups) >= genlctrl.MaxGroups {
				fail("more than %d groups", genlctrl.MaxGroups)
				break
			}
			f.Groups = append(f.Groups, genl.Group{Name: ad.String()})
		case AttrFamilyPolicy:
			if len(tables) >= maxSpecTables {
				fail("more than %d policy tables", maxSpecTables)
				break
			}
			t := &genlctrl.Table{}
			ad.Nested(func(nd *netlink.AttributeDecoder) error {
				for nd.Next() && perr == nil {
					switch nd.Type() {
					case PolMaxAttr:
						t.MaxAttr = nd.Uint16()
					case PolAttr:
						if nattrs++; nattrs > maxSpecAttrs {
							return fail("more than %d attribute policies", maxSpecAttrs)
						}
						var a genlctrl.Attr
						var hasS, hasU int
						nd.Nested(func(pd *netlink.AttributeDecoder) error {
							for pd.Next() {
								switch pd.Type() {
								case PolAttrID:
									a.ID = pd.Uint16()
								case PolAttrType:
									a.Type = genl.AttrType(pd.Uint32())
								case PolAttrMinS:
									a.MinS, hasS = pd.Int64(), hasS|1
								case PolAttrMaxS:
									a.MaxS, hasS = pd.Int64(), hasS|2
								case PolAttrMinU:
									a.MinU, hasU = pd.Uint64(), hasU|1
								case PolAttrMaxU:
									a.MaxU, hasU = pd.Uint64(), hasU|2
								case PolAttrMinLen:
									a.MinLen = pd.Uint32()
								case PolAttrMaxLen:
									a.MaxLen = pd.Uint32()
								case PolAttrMask:
									a.Mask = pd.Uint64()
								case PolAttrNested:
									a.Nested = table(pd.Uint32())
								}
							}
							return pd.Err()
						})
						a.HasRange = hasS == 3 || hasU == 3
						t.Attrs = append(t.Attrs, a)
					}
				}
				return nd.Err()
			})
			tables = append(tables, t)
		case AttrFamilyOp:
			if len(f.Ops) >= maxSpecOps {
				fail("more than %d operations", maxSpecOps)
				break
			}
			var o genlctrl.Op
			ad.Nested(func(nd *netlink.AttributeDecoder) error {
				for nd.Next() {
					switch nd.Type() {
					case FamOpCmd:
						o.Cmd = nd.Uint8()
					case FamOpFlags:
						o.Flags = genl.OpFlags(nd.Uint32())
					case FamOpDoPolicy:
						o.DoPolicy = table(nd.Uint32())
					case FamOpDumpPolicy:
						o.DumpPolicy = table(nd.Uint32())
					case FamOpName:
						o.Name = nd.String()
					}
				}
				return nd.Err()
			})
			f.Ops = append(f.Ops, o)
		}
	}
	if perr != nil {
		return genlctrl.Family{}, perr
	}
	if err := ad.Err(); err != nil {
		return genlctrl.Family{}, fmt.Errorf("nlbus: family spec: %w", err)
	}
	if f.Name == "" {
		return genlctrl.Family{}, errors.New("nlbus: family spec has no name (attribute 22)")
	}
	if err := checkName("family", f.Name); err != nil {
		return genlctrl.Family{}, err
	}
	for _, g := range f.Groups {
		if err := checkName("group", g.Name); err != nil {
			return genlctrl.Family{}, err
		}
	}
	for _, o := range f.Ops {
		if o.Name != "" {
			if err := checkName("command", o.Name); err != nil {
				return genlctrl.Family{}, err
			}
		}
	}
	return f, nil
}

// checkName refuses a family, group or command name that is not printable
// ASCII without spaces, or that holds '*' or '/': names are shown by
// nlbus families on terminals and in logs, '*' ends a prefix in the access
// rules, and '/' separates FAMILY/GROUP on the command line.
func checkName(what, name string) error {
	if name == "" {
		return fmt.Errorf("nlbus: family spec: an empty %s name", what)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' || c == '*' || c == '/' {
			return fmt.Errorf("nlbus: family spec: %s name %q: byte %d (%#x) is not allowed (printable ASCII without spaces, '*' or '/')", what, name, i, c)
		}
	}
	return nil
}
