package genlctrl

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
)

// Family is what a service registers: a generic-netlink family as a kernel
// module declares it with genl_register_family.
type Family struct {
	// ID is the family ID wanted; 0 lets the Registry allocate one (see
	// Config). A nonzero ID must be free and outside the reserved range
	// below 0x10.
	ID uint16
	// Name is the family's unique name, 1 to genl.NameMax bytes, no NUL.
	Name string
	// Version, HeaderSize and MaxAttr are reported as given; HeaderSize is
	// the size of the family header that follows the genlmsghdr.
	Version, HeaderSize, MaxAttr uint32
	// Ops are the family's commands, each command once.
	Ops []Op
	// Groups are the family's multicast groups, each name once. A zero ID
	// is allocated; a nonzero one must be free.
	Groups []genl.Group
	// Owner identifies who serves the family, for the host: on the bus,
	// the port of the registering connection. The Registry only keeps it
	// (see Route and UnregisterOwner); the controller's owner is 0.
	Owner uint32
	// Description is copied and returned by Description; the
	// Registry does not read it (on the bus: the family's YNL spec).
	Description []byte
}

// Op is one command of a family.
type Op struct {
	// Cmd is the command number (genlmsghdr.cmd).
	Cmd uint8
	// Flags are advertised as given: genl.CmdCapDo and genl.CmdCapDump
	// say which requests the command takes (at least one), genl.AdminPerm
	// and genl.UnsAdminPerm that it needs an administrator. The Registry
	// adds genl.CmdCapHasPolicy when the command has a policy.
	Flags genl.OpFlags
	// DoPolicy and DumpPolicy are the tables the attributes of do and dump
	// requests follow; nil, or a table without attributes, checks nothing.
	// They may be the same Table.
	DoPolicy, DumpPolicy *Table
	// Validate relaxes the checks, as GENL_DONT_VALIDATE_* does.
	Validate Validation
	// Name, optional, names the command for the host (the bus's access
	// rules match commands by name); the controller does not report it.
	// At most MaxOpName bytes, without NUL, each name once per family.
	Name string
}

// MaxOpName bounds Op.Name.
const MaxOpName = 64

// Config sets the numbers a Registry hands out. The zero value gives
// family IDs from 0x20 and group IDs from 0x11 up, the notify group 0x10.
type Config struct {
	// FirstFamilyID and LastFamilyID bound the family IDs allocated
	// (default 0x20 and 0xffff; a LastFamilyID below FirstFamilyID means
	// 0xffff). IDs are handed out cyclically: a removed family's ID is not
	// given again before the range wraps, so a client holding a stale ID
	// reaches nothing rather than another family.
	FirstFamilyID, LastFamilyID uint16
	// NotifyGroup is the ID of the controller's "notify" group (default
	// 0x10, Linux's). FirstGroup and LastGroup bound the group IDs
	// allocated to families (default 0x11 and 0x7fffffff; a LastGroup
	// below FirstGroup means 0xffffffff), cyclically too. The bus keeps
	// 0x80000000 and up for the registry: NotifyGroup 0x80000000 and
	// FirstGroup 0x80000001 put the controller's groups there.
	NotifyGroup, FirstGroup, LastGroup uint32
	// MaxFamilies bounds the number of registered families, the controller
	// included (default 1024).
	MaxFamilies int
	// NoPolicy makes the controller answer CTRL_CMD_GETPOLICY with
	// EOPNOTSUPP and leave it out of its own operations, as FreeBSD's does.
	NoPolicy bool
}

// MaxGroups is the number of multicast groups a family may have.
const MaxGroups = 256

// Registry is the family registry and controller: the families, their IDs
// and groups, and the answers to the controller protocol. It has no
// transport: the host (the bus daemon, or genltest) passes requests to
// Handle and sends what it appends, and sends the notifications that
// Register and Unregister return. All methods are safe for concurrent use.
type Registry struct {
	cfg Config

	mu      sync.RWMutex
	byID    map[uint16]*family
	byName  map[string]*family
	sorted  []*family // by ID: the order of a GETFAMILY dump
	groups  map[uint32]*family
	nextID  uint16
	nextGrp uint32
	ctrlFam *family
}

// family is a registered family.
type family struct {
	owner uint32
	info  genl.Family // as GETFAMILY reports it
	attrs []byte      // its controller attributes, encoded once
	ops   []op        // in registration order, as GETFAMILY lists them
	desc  []byte      // Family.Description, never modified
}

type op struct {
	name     string
	cmd      uint8
	flags    genl.OpFlags
	do, dump *table
	validate Validation
}

// New returns a Registry that holds the controller, nlctrl, with ID
// genl.CtrlID and its notify group, as Linux registers it.
func New(cfg *Config) *Registry {
	r := &Registry{byID: map[uint16]*family{}, byName: map[string]*family{}, groups: map[uint32]*family{}}
	if cfg != nil {
		r.cfg = *cfg
	}
	c := &r.cfg
	if c.FirstFamilyID == 0 {
		c.FirstFamilyID = 0x20
	}
	if c.LastFamilyID < c.FirstFamilyID {
		c.LastFamilyID = 0xffff
	}
	if c.NotifyGroup == 0 {
		c.NotifyGroup = 0x10
	}
	if c.FirstGroup == 0 {
		c.FirstGroup = 0x11
	}
	switch {
	case c.LastGroup == 0 && c.FirstGroup <= 0x7fffffff:
		c.LastGroup = 0x7fffffff
	case c.LastGroup < c.FirstGroup:
		c.LastGroup = 0xffffffff
	}
	if c.MaxFamilies <= 0 {
		c.MaxFamilies = 1024
	}
	r.nextID, r.nextGrp = c.FirstFamilyID, c.FirstGroup
	f, err := r.add(controller(c), true)
	if err != nil {
		panic("genlctrl: the controller does not register: " + err.Error()) // a bug here, not input
	}
	r.ctrlFam = f
	return r
}

// NotifyGroup returns the ID of the controller's notify group, where the
// host sends the notifications Register and Unregister return.
func (r *Registry) NotifyGroup() uint32 { return r.cfg.NotifyGroup }

// Register adds f and returns it as GETFAMILY reports it (IDs assigned,
// genl.CmdCapHasPolicy added), with the notifications to send to the
// notify group: CTRL_CMD_NEWFAMILY, then CTRL_CMD_NEWMCAST_GRP per group,
// as Linux sends them. The host must send the notifications of successive
// calls in the order of the calls. A name already taken is an error
// wrapping ErrExist; so is a taken ID or group ID.
func (r *Registry) Register(f Family) (genl.Family, []netlink.Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	nf, err := r.add(f, false)
	if err != nil {
		return genl.Family{}, nil, err
	}
	msgs := []netlink.Message{notice(genl.CmdNewFamily, nf.attrs)}
	for _, g := range nf.info.Groups {
		msgs = append(msgs, notice(genl.CmdNewMcastGrp, groupAttrs(&nf.info, g)))
	}
	return nf.info.Clone(), msgs, nil
}

// Errors of Register and Unregister, for errors.Is.
var (
	ErrExist    = errors.New("genlctrl: already registered")
	ErrNotExist = errors.New("genlctrl: no such family")
	ErrInvalid  = errors.New("genlctrl: invalid family")
)

// Unregister removes the family with ID id and returns the notifications
// to send: CTRL_CMD_DELMCAST_GRP per group, then CTRL_CMD_DELFAMILY. The
// controller itself cannot be removed.
func (r *Registry) Unregister(id uint16) ([]netlink.Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.byID[id]
	if f == nil || f == r.ctrlFam {
		return nil, fmt.Errorf("%w: id %#x", ErrNotExist, id)
	}
	return r.remove(nil, f), nil
}

// UnregisterOwner removes every family registered with Owner owner (its
// connection went away) and returns the notifications to send, family
// after family. The controller is never removed.
func (r *Registry) UnregisterOwner(owner uint32) []netlink.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var msgs []netlink.Message
	for _, f := range slices.Clone(r.sorted) {
		if f.owner == owner && f != r.ctrlFam {
			msgs = r.remove(msgs, f)
		}
	}
	return msgs
}

// remove unregisters f and appends its notifications to msgs; called with
// r.mu held.
func (r *Registry) remove(msgs []netlink.Message, f *family) []netlink.Message {
	delete(r.byID, f.info.ID)
	delete(r.byName, f.info.Name)
	for _, g := range f.info.Groups {
		delete(r.groups, g.ID)
	}
	r.sorted = slices.DeleteFunc(r.sorted, func(e *family) bool { return e == f })
	for _, g := range f.info.Groups {
		msgs = append(msgs, notice(genl.CmdDelMcastGrp, groupAttrs(&f.info, g)))
	}
	return append(msgs, notice(genl.CmdDelFamily, f.attrs))
}

// Family returns the family with ID id as GETFAMILY reports it.
func (r *Registry) Family(id uint16) (genl.Family, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if f := r.byID[id]; f != nil {
		return f.info.Clone(), true
	}
	return genl.Family{}, false
}

// FamilyByName returns the family called name.
func (r *Registry) FamilyByName(name string) (genl.Family, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if f := r.byName[name]; f != nil {
		return f.info.Clone(), true
	}
	return genl.Family{}, false
}

// Description returns the description the family with ID id registered
// with (nil if none), and whether there is such a family. The bytes are
// shared: the caller must not modify them.
func (r *Registry) Description(id uint16) ([]byte, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if f := r.byID[id]; f != nil {
		return f.desc, true
	}
	return nil, false
}

// GroupFamily returns the ID of the family that owns multicast group id.
func (r *Registry) GroupFamily(id uint32) (uint16, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if f := r.groups[id]; f != nil {
		return f.info.ID, true
	}
	return 0, false
}

// add registers f; called with r.mu held (or from New). ctrl allows the
// controller's reserved ID.
func (r *Registry) add(f Family, ctrl bool) (*family, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: %s", ErrInvalid, f.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case f.Name == "" || len(f.Name) > genl.NameMax:
		return nil, bad("a name is 1 to %d bytes", genl.NameMax)
	case strings.IndexByte(f.Name, 0) >= 0:
		return nil, bad("a NUL in the name")
	case len(f.Ops) > 256:
		return nil, bad("more than 256 operations")
	case len(f.Groups) > MaxGroups:
		return nil, bad("more than %d groups", MaxGroups)
	case f.ID != 0 && f.ID < genl.CtrlID, f.ID == genl.CtrlID && !ctrl:
		return nil, bad("id %#x is reserved", f.ID)
	}
	if r.byName[f.Name] != nil {
		return nil, fmt.Errorf("%w: family name %q", ErrExist, f.Name)
	}
	if f.ID != 0 && r.byID[f.ID] != nil {
		return nil, fmt.Errorf("%w: family id %#x", ErrExist, f.ID)
	}
	if len(r.byID) >= r.cfg.MaxFamilies {
		return nil, fmt.Errorf("genlctrl: register %q: the registry holds its maximum of %d families", f.Name, r.cfg.MaxFamilies)
	}
	nf := &family{owner: f.Owner, desc: slices.Clone(f.Description), info: genl.Family{
		ID: f.ID, Name: f.Name, Version: f.Version, HeaderSize: f.HeaderSize, MaxAttr: f.MaxAttr,
	}}
	var c compiler
	for _, o := range f.Ops {
		if o.Flags&^(genl.CmdCapDo|genl.CmdCapDump|genl.AdminPerm|genl.UnsAdminPerm|genl.CmdCapHasPolicy) != 0 {
			return nil, bad("operation %d: unknown flags %s", o.Cmd, o.Flags)
		}
		if o.Flags&(genl.CmdCapDo|genl.CmdCapDump) == 0 {
			return nil, bad("operation %d takes neither do nor dump requests", o.Cmd)
		}
		if slices.ContainsFunc(nf.ops, func(e op) bool { return e.cmd == o.Cmd }) {
			return nil, bad("operation %d listed twice", o.Cmd)
		}
		if len(o.Name) > MaxOpName || strings.IndexByte(o.Name, 0) >= 0 ||
			o.Name != "" && slices.ContainsFunc(nf.ops, func(e op) bool { return e.name == o.Name }) {
			return nil, bad("operation %d: name %q (at most %d bytes, once per family)", o.Cmd, o.Name, MaxOpName)
		}
		do, err := c.compile(o.DoPolicy)
		if err != nil {
			return nil, fmt.Errorf("%w %q: operation %d do policy: %w", ErrInvalid, f.Name, o.Cmd, err)
		}
		dump, err := c.compile(o.DumpPolicy)
		if err != nil {
			return nil, fmt.Errorf("%w %q: operation %d dump policy: %w", ErrInvalid, f.Name, o.Cmd, err)
		}
		flags := o.Flags
		if do != nil || dump != nil {
			flags |= genl.CmdCapHasPolicy
		}
		nf.ops = append(nf.ops, op{name: o.Name, cmd: o.Cmd, flags: flags, do: do, dump: dump, validate: o.Validate})
		nf.info.Ops = append(nf.info.Ops, genl.Op{ID: uint32(o.Cmd), Flags: flags})
	}
	for i, g := range f.Groups {
		switch {
		case g.Name == "" || len(g.Name) > genl.NameMax || strings.IndexByte(g.Name, 0) >= 0:
			return nil, bad("group name %q", g.Name)
		case slices.ContainsFunc(f.Groups[:i], func(o genl.Group) bool { return o.Name == g.Name }):
			return nil, bad("group %q listed twice", g.Name)
		case g.ID != 0 && (r.groups[g.ID] != nil || g.ID == r.cfg.NotifyGroup && !ctrl ||
			slices.ContainsFunc(f.Groups[:i], func(o genl.Group) bool { return o.ID == g.ID })):
			return nil, fmt.Errorf("%w: group id %d", ErrExist, g.ID)
		}
	}
	// A registration that fails takes no IDs: the cursors go back.
	nextID, nextGrp := r.nextID, r.nextGrp
	undo := func(err error) (*family, error) {
		r.nextID, r.nextGrp = nextID, nextGrp
		return nil, err
	}
	if nf.info.ID == 0 {
		id, ok := r.allocID()
		if !ok {
			return undo(fmt.Errorf("genlctrl: register %q: no free family id", f.Name))
		}
		nf.info.ID = id
	}
	nf.info.Groups = slices.Clone(f.Groups)
	for i := range nf.info.Groups {
		if nf.info.Groups[i].ID == 0 {
			id, ok := r.allocGroup(nf.info.Groups[:i])
			if !ok {
				return undo(fmt.Errorf("genlctrl: register %q: no free group id", f.Name))
			}
			nf.info.Groups[i].ID = id
		}
	}
	nf.attrs = appendFamily(nil, &nf.info)
	if len(nf.attrs) > maxAttrLen {
		return undo(bad("its description is too long"))
	}
	r.byID[nf.info.ID] = nf
	r.byName[nf.info.Name] = nf
	for _, g := range nf.info.Groups {
		r.groups[g.ID] = nf
	}
	i, _ := slices.BinarySearchFunc(r.sorted, nf.info.ID, func(e *family, id uint16) int { return cmp.Compare(e.info.ID, id) })
	r.sorted = slices.Insert(r.sorted, i, nf)
	return nf, nil
}

// allocID returns the next free family ID, cyclically.
func (r *Registry) allocID() (uint16, bool) {
	first, last := r.cfg.FirstFamilyID, r.cfg.LastFamilyID
	for n := 0; n <= len(r.byID)+1 && n <= int(last-first); n++ {
		id := r.nextID
		if id < first || id > last {
			id = first
		}
		r.nextID = id + 1
		if id == last {
			r.nextID = first
		}
		if r.byID[id] == nil {
			return id, true
		}
	}
	return 0, false
}

// allocGroup returns the next free group ID, cyclically, not in taken.
func (r *Registry) allocGroup(taken []genl.Group) (uint32, bool) {
	first, last := r.cfg.FirstGroup, r.cfg.LastGroup
	for n := 0; n <= len(r.groups)+len(taken)+2 && uint64(n) <= uint64(last-first); n++ {
		id := r.nextGrp
		if id < first || id > last {
			id = first
		}
		r.nextGrp = id + 1
		if id == last {
			r.nextGrp = first
		}
		if r.groups[id] == nil && id != r.cfg.NotifyGroup &&
			!slices.ContainsFunc(taken, func(g genl.Group) bool { return g.ID == id }) {
			return id, true
		}
	}
	return 0, false
}

// appendFamily appends f's controller attributes as Linux's ctrl_fill_info
// writes them (its op and group lists without NLA_F_NESTED).
func appendFamily(b []byte, f *genl.Family) []byte {
	const (
		attrFamilyID    = 1
		attrFamilyName  = 2
		attrVersion     = 3
		attrHdrSize     = 4
		attrMaxAttr     = 5
		attrOps         = 6
		attrMcastGroups = 7
	)
	b = putString(b, attrFamilyName, f.Name)
	b = putU16(b, attrFamilyID, f.ID)
	b = putU32(b, attrVersion, f.Version)
	b = putU32(b, attrHdrSize, f.HeaderSize)
	b = putU32(b, attrMaxAttr, f.MaxAttr)
	if len(f.Ops) > 0 {
		var n int
		b, n = begin(b, attrOps)
		for i, o := range f.Ops {
			var m int
			b, m = begin(b, uint16(i+1))
			b = putU32(b, 1, o.ID)            // CTRL_ATTR_OP_ID
			b = putU32(b, 2, uint32(o.Flags)) // CTRL_ATTR_OP_FLAGS
			end(b, m)
		}
		end(b, n) // at most 256 ops of 20 bytes: it fits
	}
	return appendGroups(b, f.Groups)
}

func appendGroups(b []byte, groups []genl.Group) []byte {
	if len(groups) == 0 {
		return b
	}
	var n int
	b, n = begin(b, 7) // CTRL_ATTR_MCAST_GROUPS
	for i, g := range groups {
		var m int
		b, m = begin(b, uint16(i+1))
		b = putU32(b, 2, g.ID)      // CTRL_ATTR_MCAST_GRP_ID
		b = putString(b, 1, g.Name) // CTRL_ATTR_MCAST_GRP_NAME
		end(b, m)
	}
	end(b, n) // at most MaxGroups groups of 32 bytes: it fits
	return b
}

// groupAttrs are the attributes of a group notification, as Linux's
// ctrl_fill_mcgrp_info writes them: the family's name and ID and the one
// group.
func groupAttrs(f *genl.Family, g genl.Group) []byte {
	b := putString(nil, 2, f.Name)
	b = putU16(b, 1, f.ID)
	return appendGroups(b, []genl.Group{g})
}

// notice builds a notification for the notify group.
func notice(cmd uint8, attrs []byte) netlink.Message {
	data := make([]byte, 0, genlHdrLen+len(attrs))
	data = append(data, cmd, ctrlVersion, 0, 0)
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(genl.CtrlID)},
		Data:   append(data, attrs...),
	}
}

// OpInfo is what LookupOp reports of a family and one of its commands.
type OpInfo struct {
	Family string // the family's name
	Owner  uint32
	Op     string       // the command's Name ("" when it has none, or no such command)
	Flags  genl.OpFlags // the command's flags (0 when the family has no such command)
}

// LookupOp returns the family with ID id and its command cmd, without
// allocating: what a host needs to apply its own access rules before
// Route.
func (r *Registry) LookupOp(id uint16, cmd uint8) (OpInfo, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f := r.byID[id]
	if f == nil {
		return OpInfo{}, false
	}
	oi := OpInfo{Family: f.info.Name, Owner: f.owner}
	for i := range f.ops {
		if f.ops[i].cmd == cmd {
			oi.Op, oi.Flags = f.ops[i].name, f.ops[i].flags
		}
	}
	return oi, true
}

// IDs returns the IDs of the registered families, the controller's
// included, in ascending order.
func (r *Registry) IDs() []uint16 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := make([]uint16, len(r.sorted))
	for i, f := range r.sorted {
		ids[i] = f.info.ID
	}
	return ids
}
