package bus_test

import (
	"bytes"
	"testing"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

// FuzzParseEnvelope: ParseEnvelope never panics, and an envelope it
// accepts marshals back to the same bytes and fits in the input.
func FuzzParseEnvelope(f *testing.F) {
	f.Add(frame(bus.Envelope{Dst: 4096}, nlmsg(0x30, netlink.Request, 1, []byte("x"))))
	f.Add(frame(bus.Envelope{Flags: bus.FlagCreds, Src: 1, Group: 7, PID: -1, UID: 2, GID: 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := bus.ParseEnvelope(b)
		if err != nil {
			return
		}
		if int(e.Length) > len(b) || e.Length < bus.EnvelopeLen {
			t.Fatalf("accepted length %d of %d bytes", e.Length, len(b))
		}
		out := make([]byte, bus.EnvelopeLen)
		bus.PutEnvelope(out, e)
		if string(out) != string(b[:bus.EnvelopeLen]) {
			t.Fatalf("round trip: %x != %x", out, b[:bus.EnvelopeLen])
		}
		// Splitting a daemon datagram stops at the first bad frame.
		n := 0
		bus.SplitFrames(b, func(e bus.Envelope, payload []byte) bool {
			n += int(e.Length)
			return true
		})
		if n > len(b) {
			t.Fatalf("frames cover %d of %d bytes", n, len(b))
		}
	})
}

// FuzzParseControl: the bus-control decoders never panic on any payload,
// and a port description the daemon's encoder writes decodes to itself.
func FuzzParseControl(f *testing.F) {
	msg, _ := bus.ControlMessage(bus.CmdJoin, 0, func(ae *netlink.AttributeEncoder) { ae.Uint32(bus.AttrGroup, 100) })
	f.Add(msg.Data, uint32(1), int32(2), uint32(3))
	msg, _ = bus.ControlMessage(bus.CmdGetPort, 0, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(bus.AttrPort, 4096)
		tok := ae.BeginNested(bus.AttrGroups)
		ae.Uint32(bus.AttrGroup, 1)
		ae.EndNested(tok)
	})
	f.Add(msg.Data, uint32(4096), int32(-1), uint32(0))
	f.Add([]byte{bus.CmdHello, 1, 0, 0, 4, 0}, uint32(0), int32(0), uint32(0))
	f.Fuzz(func(t *testing.T, data []byte, port uint32, pid int32, uid uint32) {
		bus.ParseControl(data, func(ad *netlink.AttributeDecoder) { ad.Bytes() })
		bus.ParsePortInfo(data)
		bus.ParseStats(data)
		bus.ParseHello(data)
		bus.ParsePortReleased(data)

		m, err := bus.ControlMessage(bus.CmdPortReleased, 0, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(bus.AttrPort, port)
			ae.Int32(bus.AttrPID, pid)
			ae.Uint32(bus.AttrUID, uid)
		})
		if err != nil {
			t.Fatal(err)
		}
		r, err := bus.ParsePortReleased(m.Data)
		if err != nil || r.Port != port || r.PID != pid || r.UID != uid {
			t.Fatalf("round trip: %+v, %v", r, err)
		}
	})
}

// FuzzParseFamilySpec: the registration decoder never panics, and what it
// accepts the registry either registers or refuses, without panicking; a
// spec encoded by AppendFamilySpec decodes to the same names (commands'
// too) and counts.
func FuzzParseFamilySpec(f *testing.F) {
	seed := func(spec bus.FamilySpec) {
		m, err := bus.ControlMessage(bus.CmdNewFamily, 0, func(ae *netlink.AttributeEncoder) {
			if err := bus.AppendFamilySpec(ae, &spec); err != nil {
				f.Fatal(err)
			}
		})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.Data)
	}
	inner := &genlctrl.Table{Attrs: []genlctrl.Attr{{ID: 1, Type: genl.TypeString, MaxLen: 8}}}
	seed(bus.FamilySpec{Name: "kv", Version: 1, MaxAttr: 3, Groups: []string{"changes", "other"},
		Ops: []bus.Op{
			{Cmd: 1, Name: "set", Flags: genl.CmdCapDo, DoPolicy: &genlctrl.Table{Attrs: []genlctrl.Attr{
				{ID: 1, Type: genl.TypeU32, HasRange: true, MaxU: 5},
				{ID: 2, Type: genl.TypeNested, Nested: inner},
				{ID: 3, Type: genl.TypeBitfield32, Mask: 7},
			}}},
			{Cmd: 2, Flags: genl.CmdCapDump | genl.AdminPerm, DumpPolicy: inner},
		}})
	seed(bus.FamilySpec{Name: "x"})
	seed(bus.FamilySpec{Name: "described", Description: []byte("name: described\n")})
	f.Add([]byte{bus.CmdNewFamily, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fam, err := bus.ParseFamilySpec(b)
		if err != nil {
			return
		}
		if fam.Name == "" {
			t.Fatal("accepted a spec without a name")
		}
		reg := genlctrl.New(nil)
		reg.Register(fam) // may refuse; must not panic
		// Round trip of the names and counts through the encoder.
		spec := bus.FamilySpec{Name: fam.Name, Version: fam.Version, HeaderSize: fam.HeaderSize, MaxAttr: fam.MaxAttr, Description: fam.Description}
		for _, g := range fam.Groups {
			spec.Groups = append(spec.Groups, g.Name)
		}
		for _, o := range fam.Ops {
			spec.Ops = append(spec.Ops, bus.Op{Cmd: o.Cmd, Name: o.Name, Flags: o.Flags, DoPolicy: o.DoPolicy, DumpPolicy: o.DumpPolicy})
		}
		m, err := bus.ControlMessage(bus.CmdNewFamily, 0, func(ae *netlink.AttributeEncoder) {
			if e := bus.AppendFamilySpec(ae, &spec); e != nil {
				t.Fatalf("decoded spec does not encode: %v", e)
			}
		})
		if err != nil {
			return // e.g. a name too long for an attribute
		}
		again, err := bus.ParseFamilySpec(m.Data)
		if err != nil {
			t.Fatalf("re-encoded spec does not decode: %v", err)
		}
		if again.Name != fam.Name || len(again.Ops) != len(fam.Ops) || len(again.Groups) != len(fam.Groups) ||
			!bytes.Equal(again.Description, fam.Description) {
			t.Fatalf("round trip: %+v != %+v", again, fam)
		}
		for i := range fam.Ops {
			if again.Ops[i].Name != fam.Ops[i].Name {
				t.Fatalf("round trip of op %d's name: %q != %q", i, again.Ops[i].Name, fam.Ops[i].Name)
			}
		}
	})
}
