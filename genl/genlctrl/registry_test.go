package genlctrl_test

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if f := flag.Lookup("test.fuzz"); code == 0 && (f == nil || f.Value.String() == "") {
		// Closed connections' goroutines take a moment to end.
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			os.Stderr.Write(buf[:runtime.Stack(buf, true)])
			fmt.Fprintf(os.Stderr, "genlctrl: %d goroutines leaked\n", n-before)
			code = 1
		}
	}
	os.Exit(code)
}

func TestRegisterRefuses(t *testing.T) {
	do := genl.CmdCapDo
	self := &genlctrl.Table{}
	self.Attrs = []genlctrl.Attr{{ID: 1, Type: genl.TypeNested, Nested: self}}
	tests := []struct {
		name string
		f    genlctrl.Family
		is   error
	}{
		{"empty name", genlctrl.Family{}, genlctrl.ErrInvalid},
		{"long name", genlctrl.Family{Name: "sixteen-bytes-xx"}, genlctrl.ErrInvalid},
		{"NUL in name", genlctrl.Family{Name: "a\x00b"}, genlctrl.ErrInvalid},
		{"taken name", genlctrl.Family{Name: "nlctrl"}, genlctrl.ErrExist},
		{"controller id", genlctrl.Family{Name: "x", ID: genl.CtrlID}, genlctrl.ErrInvalid},
		{"reserved id", genlctrl.Family{Name: "x", ID: 3}, genlctrl.ErrInvalid},
		{"op without do or dump", genlctrl.Family{Name: "x", Ops: []genlctrl.Op{{Cmd: 1}}}, genlctrl.ErrInvalid},
		{"op twice", genlctrl.Family{Name: "x", Ops: []genlctrl.Op{{Cmd: 1, Flags: do}, {Cmd: 1, Flags: genl.CmdCapDump}}}, genlctrl.ErrInvalid},
		{"unknown flag", genlctrl.Family{Name: "x", Ops: []genlctrl.Op{{Cmd: 1, Flags: do | 0x100}}}, genlctrl.ErrInvalid},
		{"group twice", genlctrl.Family{Name: "x", Groups: []genl.Group{{Name: "g"}, {Name: "g"}}}, genlctrl.ErrInvalid},
		{"notify group id", genlctrl.Family{Name: "x", Groups: []genl.Group{{Name: "g", ID: 0x10}}}, genlctrl.ErrExist},
		{"group id twice", genlctrl.Family{Name: "x", Groups: []genl.Group{{Name: "g", ID: 99}, {Name: "h", ID: 99}}}, genlctrl.ErrExist},
		{"empty group name", genlctrl.Family{Name: "x", Groups: []genl.Group{{}}}, genlctrl.ErrInvalid},
	}
	bad := []genlctrl.Attr{
		{ID: 0, Type: genl.TypeU8},
		{ID: 0x4000, Type: genl.TypeU8},
		{ID: 1, Type: genl.TypeInvalid},
		{ID: 1, Type: 99},
		{ID: 1, Type: genl.TypeU8, HasRange: true, MinU: 0, MaxU: 256},
		{ID: 1, Type: genl.TypeU8, HasRange: true, MinU: 5, MaxU: 4},
		{ID: 1, Type: genl.TypeS8, HasRange: true, MinS: -129, MaxS: 0},
		{ID: 1, Type: genl.TypeString, HasRange: true},
		{ID: 1, Type: genl.TypeU16, Mask: 0x10000},
		{ID: 1, Type: genl.TypeU16, Mask: 1, HasRange: true, MaxU: 2},
		{ID: 1, Type: genl.TypeS16, Mask: 1},
		{ID: 1, Type: genl.TypeString, MinLen: 1},
		{ID: 1, Type: genl.TypeBinary, MinLen: 5, MaxLen: 4},
		{ID: 1, Type: genl.TypeU32, MaxLen: 4},
		{ID: 1, Type: genl.TypeU32, Nested: self},
	}
	for i, a := range bad {
		tests = append(tests, struct {
			name string
			f    genlctrl.Family
			is   error
		}{fmt.Sprintf("attr %d %+v", i, a), genlctrl.Family{Name: "x", Ops: []genlctrl.Op{{Cmd: 1, Flags: do, DoPolicy: &genlctrl.Table{Attrs: []genlctrl.Attr{a}}}}}, genlctrl.ErrInvalid})
	}
	tests = append(tests, struct {
		name string
		f    genlctrl.Family
		is   error
	}{"attr above MaxAttr", genlctrl.Family{Name: "x", Ops: []genlctrl.Op{{Cmd: 1, Flags: do, DoPolicy: &genlctrl.Table{MaxAttr: 2, Attrs: []genlctrl.Attr{{ID: 3, Type: genl.TypeFlag}}}}}}, genlctrl.ErrInvalid},
		struct {
			name string
			f    genlctrl.Family
			is   error
		}{"attr twice", genlctrl.Family{Name: "x", Ops: []genlctrl.Op{{Cmd: 1, Flags: do, DoPolicy: &genlctrl.Table{Attrs: []genlctrl.Attr{{ID: 3, Type: genl.TypeFlag}, {ID: 3, Type: genl.TypeU8}}}}}}, genlctrl.ErrInvalid})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := genlctrl.New(nil)
			_, notes, err := r.Register(tt.f)
			require.ErrorIs(t, err, tt.is)
			assert.Nil(t, notes)
			_, ok := r.FamilyByName("x")
			assert.False(t, ok, "nothing registered")
		})
	}
	// A table that nests itself is fine.
	r := genlctrl.New(nil)
	_, _, err := r.Register(genlctrl.Family{Name: "x", Ops: []genlctrl.Op{{Cmd: 1, Flags: do, DoPolicy: self}}})
	require.NoError(t, err)
}

func TestRegisterAllocates(t *testing.T) {
	r := genlctrl.New(&genlctrl.Config{FirstFamilyID: 0x20, LastFamilyID: 0x22, FirstGroup: 100, LastGroup: 102})
	reg := func(name string, groups ...string) (genl.Family, error) {
		f := genlctrl.Family{Name: name}
		for _, g := range groups {
			f.Groups = append(f.Groups, genl.Group{Name: g})
		}
		gf, _, err := r.Register(f)
		return gf, err
	}
	a, err := reg("a", "x", "y")
	require.NoError(t, err)
	assert.Equal(t, uint16(0x20), a.ID)
	assert.Equal(t, []genl.Group{{ID: 100, Name: "x"}, {ID: 101, Name: "y"}}, a.Groups)
	b, err := reg("b", "z")
	require.NoError(t, err)
	assert.Equal(t, uint16(0x21), b.ID)
	assert.Equal(t, uint32(102), b.Groups[0].ID)
	_, err = reg("c", "w")
	require.Error(t, err, "no group left")
	_, ok := r.FamilyByName("c")
	assert.False(t, ok, "a failed registration leaves nothing behind")

	_, err = r.Unregister(a.ID)
	require.NoError(t, err)
	_, err = r.Unregister(a.ID)
	require.ErrorIs(t, err, genlctrl.ErrNotExist)
	_, err = r.Unregister(genl.CtrlID)
	require.ErrorIs(t, err, genlctrl.ErrNotExist, "the controller stays")

	// Cyclic: 0x22 comes before 0x20 is given again.
	c, err := reg("c")
	require.NoError(t, err)
	assert.Equal(t, uint16(0x22), c.ID)
	d, err := reg("d", "v")
	require.NoError(t, err)
	assert.Equal(t, uint16(0x20), d.ID)
	assert.Equal(t, uint32(100), d.Groups[0].ID)
	_, err = reg("e")
	require.Error(t, err, "no family id left")

	id, ok := r.GroupFamily(100)
	require.True(t, ok)
	assert.Equal(t, d.ID, id)
	id, ok = r.GroupFamily(0x10)
	require.True(t, ok)
	assert.Equal(t, genl.CtrlID, id)

	lim := genlctrl.New(&genlctrl.Config{MaxFamilies: 2})
	_, _, err = lim.Register(genlctrl.Family{Name: "one"})
	require.NoError(t, err)
	_, _, err = lim.Register(genlctrl.Family{Name: "two"})
	require.Error(t, err, "the controller counts")
}

func TestNotifications(t *testing.T) {
	r := genlctrl.New(nil)
	assert.Equal(t, uint32(0x10), r.NotifyGroup())
	f, notes, err := r.Register(genlctrl.Family{
		Name: "svc", Version: 3,
		Ops:    []genlctrl.Op{{Cmd: 1, Flags: genl.CmdCapDo | genl.AdminPerm, DoPolicy: &genlctrl.Table{Attrs: []genlctrl.Attr{{ID: 1, Type: genl.TypeU32}}}}},
		Groups: []genl.Group{{Name: "a"}, {Name: "b"}},
	})
	require.NoError(t, err)
	assert.Equal(t, genl.AdminPerm|genl.CmdCapDo|genl.CmdCapHasPolicy, f.Ops[0].Flags)
	check := func(notes []netlink.Message, cmds []uint8, groups [][]genl.Group) {
		t.Helper()
		require.Len(t, notes, len(cmds))
		for i, n := range notes {
			assert.Equal(t, netlink.HeaderType(genl.CtrlID), n.Header.Type)
			gm, err := genl.ParseMessage(n.Data)
			require.NoError(t, err)
			assert.Equal(t, genl.Header{Command: cmds[i], Version: 2}, gm.Header)
			var got genl.Family
			require.NoError(t, got.UnmarshalAttributes(gm.Data))
			assert.Equal(t, f.Name, got.Name)
			assert.Equal(t, f.ID, got.ID)
			if groups[i] != nil {
				assert.Equal(t, groups[i], got.Groups)
			} else {
				assert.Equal(t, f, got)
			}
		}
	}
	check(notes, []uint8{genl.CmdNewFamily, genl.CmdNewMcastGrp, genl.CmdNewMcastGrp},
		[][]genl.Group{nil, {f.Groups[0]}, {f.Groups[1]}})
	notes, err = r.Unregister(f.ID)
	require.NoError(t, err)
	check(notes, []uint8{genl.CmdDelMcastGrp, genl.CmdDelMcastGrp, genl.CmdDelFamily},
		[][]genl.Group{{f.Groups[0]}, {f.Groups[1]}, nil})
	_, ok := r.Family(f.ID)
	assert.False(t, ok)
}

// request builds a netlink request with a genlmsghdr and attributes.
func request(typ uint16, flags netlink.HeaderFlags, cmd uint8, attrs ...[]byte) netlink.Message {
	data := []byte{cmd, 1, 0, 0}
	for _, a := range attrs {
		data = append(data, a...)
	}
	return netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: flags | netlink.Request, Sequence: 9}, Data: data}
}

func TestHandleFraming(t *testing.T) {
	r := genlctrl.New(nil)
	parse := func(b []byte) []netlink.Message {
		t.Helper()
		msgs, err := netlink.ParseMessages(b)
		require.NoError(t, err)
		return msgs
	}
	// Not a request: only the ACK it asks for.
	m := request(genl.CtrlID, netlink.Acknowledge, genl.CmdGetFamily)
	m.Header.Flags &^= netlink.Request
	assert.Empty(t, r.Handle(nil, netlink.Message{Header: netlink.Header{Type: 0x10}}, 5))
	msgs := parse(r.Handle(nil, m, 5))
	require.Len(t, msgs, 1)
	errno, _, err := netlink.ParseError(msgs[0])
	require.NoError(t, err)
	assert.Zero(t, errno)
	assert.Equal(t, netlink.Capped, msgs[0].Header.Flags)

	// Another type: ENOENT.
	msgs = parse(r.Handle(nil, request(0x20, 0, 1), 5))
	require.Len(t, msgs, 1)
	errno, _, _ = netlink.ParseError(msgs[0])
	assert.Equal(t, syscall.ENOENT, errno)

	// A do with ACK: the reply, then the ACK; all from port 5's request.
	prefix := []byte("kept")
	out := r.Handle(prefix, request(genl.CtrlID, netlink.Acknowledge, genl.CmdGetFamily, str(2, "nlctrl")), 5)
	assert.Equal(t, "kept", string(out[:4]), "Handle appends")
	msgs = parse(out[4:])
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		assert.Equal(t, uint32(9), m.Header.Sequence)
		assert.Equal(t, uint32(5), m.Header.PID)
	}
	assert.Equal(t, netlink.Error, msgs[1].Header.Type)

	// A dump: NEWFAMILY parts flagged multi, then DONE.
	msgs = parse(r.Handle(nil, request(genl.CtrlID, netlink.Dump, genl.CmdGetFamily), 5))
	require.Len(t, msgs, 2)
	assert.Equal(t, netlink.Multi, msgs[0].Header.Flags)
	assert.Equal(t, netlink.Done, msgs[1].Header.Type)

	// An error ends the answer: nothing of a reply before it.
	msgs = parse(r.Handle(nil, request(genl.CtrlID, netlink.Dump, genl.CmdGetPolicy, str(2, "nope")), 5))
	require.Len(t, msgs, 1)
	errno, _, _ = netlink.ParseError(msgs[0])
	assert.Equal(t, syscall.ENOENT, errno)
}

func TestNoPolicy(t *testing.T) {
	r := genlctrl.New(&genlctrl.Config{NoPolicy: true})
	f, ok := r.FamilyByName("nlctrl")
	require.True(t, ok)
	assert.Len(t, f.Ops, 1, "no GETPOLICY, as FreeBSD's nlctrl")
	msgs, err := netlink.ParseMessages(r.Handle(nil, request(genl.CtrlID, netlink.Dump, genl.CmdGetPolicy, str(2, "nlctrl")), 1))
	require.NoError(t, err)
	errno, _, _ := netlink.ParseError(msgs[0])
	assert.Equal(t, syscall.EOPNOTSUPP, errno)
}

// TestHandleAllocs: answering GETFAMILY into a buffer with room allocates
// nothing; a GETPOLICY dump neither.
func TestHandleAllocs(t *testing.T) {
	r := genlctrl.New(nil)
	buf := make([]byte, 0, 1<<14)
	for _, req := range []netlink.Message{
		request(genl.CtrlID, netlink.Acknowledge, genl.CmdGetFamily, str(2, "nlctrl")),
		request(genl.CtrlID, 0, genl.CmdGetFamily, rawAttr(1, 0x10, 0)),
		request(genl.CtrlID, netlink.Dump, genl.CmdGetFamily),
		request(genl.CtrlID, netlink.Dump, genl.CmdGetPolicy, str(2, "nlctrl")),
	} {
		allocs := testing.AllocsPerRun(100, func() { buf = r.Handle(buf[:0], req, 1) })
		assert.Zero(t, allocs, "%x", req.Data)
	}
	ok := request(0x20, 0, 1, rawAttr(1, 1, 0, 0, 0))
	_, _, err := r.Register(genlctrl.Family{Name: "x", Ops: []genlctrl.Op{{Cmd: 1, Flags: genl.CmdCapDo, DoPolicy: &genlctrl.Table{Attrs: []genlctrl.Attr{{ID: 1, Type: genl.TypeU32, HasRange: true, MaxU: 5}}}}}})
	require.NoError(t, err)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if r.Check(ok, genlctrl.Caller{}) != nil {
			t.Fatal("refused")
		}
	}))
}

func BenchmarkHandleGetFamily(b *testing.B) {
	r := genlctrl.New(nil)
	req := request(genl.CtrlID, netlink.Acknowledge, genl.CmdGetFamily, str(2, "nlctrl"))
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = r.Handle(buf[:0], req, 1)
	}
}

func BenchmarkCheck(b *testing.B) {
	r := genlctrl.New(nil)
	t := &genlctrl.Table{Attrs: []genlctrl.Attr{{ID: 1, Type: genl.TypeU32}, {ID: 2, Type: genl.TypeNulString, MaxLen: 32}}}
	f, _, _ := r.Register(genlctrl.Family{Name: "x", Ops: []genlctrl.Op{{Cmd: 1, Flags: genl.CmdCapDo, DoPolicy: t}}})
	req := request(f.ID, 0, 1, rawAttr(1, 1, 0, 0, 0), str(2, "hello"))
	b.ReportAllocs()
	for b.Loop() {
		if r.Check(req, genlctrl.Caller{}) != nil {
			b.Fatal("refused")
		}
	}
}

func TestOwners(t *testing.T) {
	r := genlctrl.New(nil)
	do := []genlctrl.Op{{Cmd: 1, Flags: genl.CmdCapDo}}
	a, _, err := r.Register(genlctrl.Family{Name: "a", Owner: 7, Ops: do, Groups: []genl.Group{{Name: "g"}}})
	require.NoError(t, err)
	b, _, err := r.Register(genlctrl.Family{Name: "b", Owner: 8, Ops: do})
	require.NoError(t, err)
	c, _, err := r.Register(genlctrl.Family{Name: "c", Owner: 7})
	require.NoError(t, err)

	owner, ref := r.Route(request(b.ID, 0, 1), genlctrl.Caller{})
	require.Nil(t, ref)
	assert.Equal(t, uint32(8), owner)
	_, ref = r.Route(request(c.ID, 0, 1), genlctrl.Caller{})
	require.NotNil(t, ref, "c has no operations")
	assert.Equal(t, syscall.EOPNOTSUPP, ref.Errno)
	reply := request(a.ID, 0, 1)
	reply.Header.Flags = 0
	owner, ref = r.Route(reply, genlctrl.Caller{})
	require.Nil(t, ref)
	assert.Equal(t, uint32(7), owner, "a message that is not a request, to a family")

	notes := r.UnregisterOwner(7)
	require.Len(t, notes, 3, "a: DELMCAST_GRP and DELFAMILY; c: DELFAMILY")
	_, ok := r.Family(a.ID)
	assert.False(t, ok)
	_, ok = r.Family(c.ID)
	assert.False(t, ok)
	_, ok = r.Family(b.ID)
	assert.True(t, ok)
	assert.Empty(t, r.UnregisterOwner(0), "the controller stays")
	_, ok = r.Family(genl.CtrlID)
	assert.True(t, ok)
}

// TestBusGroupRange: the bus's registry range, from 0x80000000 up.
func TestBusGroupRange(t *testing.T) {
	r := genlctrl.New(&genlctrl.Config{NotifyGroup: 0x80000000, FirstGroup: 0x80000001})
	ctrl, ok := r.Family(genl.CtrlID)
	require.True(t, ok)
	assert.Equal(t, []genl.Group{{ID: 0x80000000, Name: "notify"}}, ctrl.Groups)
	f, _, err := r.Register(genlctrl.Family{Name: "svc", Groups: []genl.Group{{Name: "a"}, {Name: "b"}}})
	require.NoError(t, err)
	assert.Equal(t, []genl.Group{{ID: 0x80000001, Name: "a"}, {ID: 0x80000002, Name: "b"}}, f.Groups)
	_, err = r.Unregister(f.ID)
	require.NoError(t, err)
	f, _, err = r.Register(genlctrl.Family{Name: "svc", Groups: []genl.Group{{Name: "a"}}})
	require.NoError(t, err)
	assert.Equal(t, uint32(0x80000003), f.Groups[0].ID, "not reused at once")
}
