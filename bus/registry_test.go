package bus_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The kvstore-like family of these tests.
const (
	kvSet   = 1 // do: KEY, VALUE (u32 0..100)
	kvWipe  = 2 // do, admin
	kvList  = 3 // dump
	kvBlock = 4 // do: the handler never answers (for the owner-dies test)

	kvKey   = 1
	kvValue = 2
)

func kvSpec(name string) bus.FamilySpec {
	pol := &genlctrl.Table{Attrs: []genlctrl.Attr{
		{ID: kvKey, Type: genl.TypeNulString, MaxLen: 16},
		{ID: kvValue, Type: genl.TypeU32, HasRange: true, MinU: 0, MaxU: 100},
	}}
	return bus.FamilySpec{
		Name: name, Version: 2, MaxAttr: kvValue,
		Ops: []bus.Op{
			{Cmd: kvSet, Name: "set", Flags: genl.CmdCapDo, DoPolicy: pol},
			{Cmd: kvWipe, Name: "wipe", Flags: genl.CmdCapDo | genl.AdminPerm},
			{Cmd: kvList, Name: "list", Flags: genl.CmdCapDump},
			{Cmd: kvBlock, Flags: genl.CmdCapDo},
		},
		Groups: []string{"changes"},
	}
}

// kvService is a running service: its family and the number of requests
// its handlers saw.
type kvService struct {
	fam     genl.Family
	conn    *netlink.Conn
	calls   atomic.Int32
	blocked chan struct{}
	done    chan error
}

func startKV(t *testing.T, srv *bustest.Server, name string) *kvService {
	t.Helper()
	ctx := testCtx(t)
	s := &kvService{conn: srv.Dial(t, nil), blocked: make(chan struct{}, 16), done: make(chan error, 1)}
	fam, err := bus.RegisterFamily(ctx, s.conn, kvSpec(name))
	require.NoError(t, err)
	s.fam = fam
	handlers := map[uint8]bus.Handler{
		kvSet: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
			s.calls.Add(1)
			var key string
			var val uint32
			ad := netlink.NewAttributeDecoder(r.Attrs)
			for ad.Next() {
				switch ad.Type() {
				case kvKey:
					key = ad.String()
				case kvValue:
					val = ad.Uint32()
				}
			}
			if key == "" {
				return &bus.Error{Errno: unix.EINVAL, Msg: "kvstore: no key"}
			}
			return w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) {
				ae.String(kvKey, key)
				ae.Uint32(kvValue, val+1)
				ae.Uint32(3, r.Creds.UID)
			})
		},
		kvWipe: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
			s.calls.Add(1)
			return nil
		},
		kvList: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
			s.calls.Add(1)
			for i := range 5 {
				if err := w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) { ae.Uint32(kvValue, uint32(i)) }); err != nil {
					return err
				}
			}
			return nil
		},
		kvBlock: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
			s.calls.Add(1)
			s.blocked <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		},
	}
	sctx, cancel := context.WithCancel(context.Background())
	go func() { s.done <- bus.Serve(sctx, s.conn, fam, handlers) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return s
}

func kvAttrs(t *testing.T, key string, val uint32) []byte {
	var ae netlink.AttributeEncoder
	ae.String(kvKey, key)
	ae.Uint32(kvValue, val)
	b, err := ae.Bytes()
	require.NoError(t, err)
	return b
}

// Register, then resolve with the genl package: GetFamily, ListFamilies,
// GetPolicy; then a do and a dump from another client.
func TestRegistryResolveAndCall(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	svc := startKV(t, srv, "kvstore")
	require.GreaterOrEqual(t, svc.fam.ID, uint16(bus.FirstFamilyID))
	g, ok := svc.fam.Group("changes")
	require.True(t, ok)
	require.GreaterOrEqual(t, g.ID, uint32(bus.FirstFamilyGroup))

	gc := genl.NewConn(srv.Dial(t, nil))
	f, err := gc.GetFamily(ctx, "kvstore")
	require.NoError(t, err)
	assert.Equal(t, svc.fam.ID, f.ID)
	assert.Equal(t, uint32(2), f.Version)
	op, ok := f.Op(kvWipe)
	require.True(t, ok)
	assert.True(t, op.NeedsAdmin())
	byID, err := gc.GetFamilyByID(ctx, f.ID)
	require.NoError(t, err)
	assert.Equal(t, "kvstore", byID.Name)

	all, err := gc.ListFamilies(ctx)
	require.NoError(t, err)
	var names []string
	for _, f := range all {
		names = append(names, f.Name)
	}
	assert.ElementsMatch(t, []string{"nlctrl", "nlbus", "kvstore"}, names)

	pol, err := gc.GetPolicy(ctx, "kvstore")
	require.NoError(t, err)
	opp, ok := pol.Op(kvSet)
	require.True(t, ok)
	tbl, ok := pol.Table(opp.Do)
	require.True(t, ok)
	ap, ok := tbl.Attr(kvValue)
	require.True(t, ok)
	assert.Equal(t, genl.TypeU32, ap.Type)
	assert.Equal(t, uint64(100), ap.MaxValueU)

	// A do: the reply comes back as from a kernel family.
	replies, err := gc.Execute(ctx, f.ID, genl.Message{Header: genl.Header{Command: kvSet, Version: 2}, Data: kvAttrs(t, "a", 41)}, 0)
	require.NoError(t, err)
	require.Len(t, replies, 1)
	ad := netlink.NewAttributeDecoder(replies[0].Data)
	got := map[uint16]any{}
	for ad.Next() {
		switch ad.Type() {
		case kvKey:
			got[kvKey] = ad.String()
		default:
			got[ad.Type()] = ad.Uint32()
		}
	}
	assert.Equal(t, map[uint16]any{kvKey: "a", kvValue: uint32(42), 3: uint32(os.Geteuid())}, got)

	// The service's own error, with its text.
	_, err = gc.Execute(ctx, f.ID, genl.Message{Header: genl.Header{Command: kvSet}}, 0)
	require.ErrorIs(t, err, unix.EINVAL)
	assert.Contains(t, err.Error(), "kvstore: no key")

	// A dump.
	var vals []uint32
	for m, err := range gc.DumpFamily(ctx, "kvstore", genl.Message{Header: genl.Header{Command: kvList}}) {
		require.NoError(t, err)
		ad := netlink.NewAttributeDecoder(m.Data)
		for ad.Next() {
			vals = append(vals, ad.Uint32())
		}
	}
	assert.Equal(t, []uint32{0, 1, 2, 3, 4}, vals)
	assert.Equal(t, int32(3), svc.calls.Load())
}

// The daemon refuses what breaks the family's rules before the service
// sees it: a policy violation, an unknown command, a dump of a do-only
// command.
func TestRegistryRefusals(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	svc := startKV(t, srv, "kvstore")
	gc := genl.NewConn(srv.Dial(t, nil))

	_, err := gc.Execute(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvSet}, Data: kvAttrs(t, "a", 500)}, 0)
	require.ErrorIs(t, err, unix.ERANGE)
	var oe *netlink.OpError
	require.True(t, errors.As(err, &oe))
	assert.NotEmpty(t, oe.ExtAck.Message, "extended-ack text")
	t.Logf("policy refusal: %v", err)

	_, err = gc.Execute(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvSet}, Data: kvAttrs(t, "a-key-much-longer-than-sixteen", 1)}, 0)
	require.ErrorIs(t, err, unix.EINVAL) // as Linux: a string over its max length
	assert.Contains(t, err.Error(), "Attribute failed policy validation")

	_, err = gc.Execute(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: 77}}, 0)
	require.ErrorIs(t, err, unix.EOPNOTSUPP)

	for _, err := range gc.Dump(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvSet}}) {
		require.ErrorIs(t, err, unix.EOPNOTSUPP)
	}
	assert.Zero(t, svc.calls.Load(), "the service saw a refused request")

	// Root (the tests' user here, or not: the check is uid 0) may wipe
	// only when uid 0; see TestRegistryAdmin for the refusal.
}

// An admin command is refused for a caller whose uid is not 0. The bus has
// a test hook on credentials (bus.SetCredsHook, export_test.go): it makes
// the daemon see the connections of this test, all from this process, as
// uid 65534 except the ones opened before the switch. It does not drop
// privileges in a child process.
func TestRegistryAdmin(t *testing.T) {
	ctx := testCtx(t)
	var nonRoot atomic.Bool
	// The system bus: on a per-user bus the daemon's own user (whoever
	// runs the tests, uid 65534 too) may call admin commands.
	s := &bus.Server{SystemBus: true}
	bus.SetCredsHook(s, func(pid int32, uid, gid uint32) (int32, uint32, uint32) {
		if nonRoot.Load() {
			return pid, 65534, 65534
		}
		return pid, 0, 0
	})
	srv := bustest.NewServer(t, s)
	svc := startKV(t, srv, "kvstore")
	root := genl.NewConn(srv.Dial(t, nil))
	nonRoot.Store(true)
	user := genl.NewConn(srv.Dial(t, nil))

	_, err := user.Execute(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvWipe}}, 0)
	require.ErrorIs(t, err, unix.EPERM)
	assert.Zero(t, svc.calls.Load())

	_, err = root.Execute(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvWipe}}, 0)
	require.NoError(t, err)
	assert.Equal(t, int32(1), svc.calls.Load())

	// The service is told the caller's credentials by the daemon.
	replies, err := user.Execute(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvSet}, Data: kvAttrs(t, "k", 1)}, 0)
	require.NoError(t, err)
	ad := netlink.NewAttributeDecoder(replies[0].Data)
	for ad.Next() {
		if ad.Type() == 3 {
			assert.Equal(t, uint32(65534), ad.Uint32())
		}
	}
}

// Two services race for one name: one wins, the other gets EEXIST.
func TestRegistryNameRace(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		c := srv.Dial(t, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = bus.RegisterFamily(ctx, c, kvSpec("contested"))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		require.ErrorIs(t, err, unix.EEXIST)
		assert.Contains(t, err.Error(), `family "contested" is already registered`)
	}
	assert.Equal(t, 1, won)
}

// The owner goes with a request in flight: the caller gets an error at
// once, and a subscriber of the controller's notify group sees DELFAMILY;
// the genl cache forgets the family.
func TestRegistryOwnerGoes(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)

	sub := genl.NewConn(srv.Dial(t, nil))
	require.NoError(t, sub.JoinGroup(ctx, "nlctrl", "notify"))

	// A genl Conn with the cache, kept true by the notify group.
	cached := genl.NewConn(srv.Dial(t, nil))
	t.Cleanup(func() { cached.Close() })
	require.NoError(t, cached.EnableCache(ctx, srv.Dial(t, nil)))

	svc := startKV(t, srv, "doomed")
	// NEWFAMILY for it arrives.
	waitCtrl(t, sub.Netlink(), genl.CmdNewFamily, "doomed")
	cf, err := cached.LookupFamily(ctx, "doomed")
	require.NoError(t, err)
	require.Equal(t, svc.fam.ID, cf.ID)

	gc := genl.NewConn(srv.Dial(t, nil))
	errc := make(chan error, 1)
	go func() {
		_, err := gc.Execute(ctx, svc.fam.ID, genl.Message{Header: genl.Header{Command: kvBlock}}, 0)
		errc <- err
	}()
	select {
	case <-svc.blocked:
	case <-ctx.Done():
		t.Fatal("the request never reached the service")
	}
	start := time.Now()
	require.NoError(t, svc.conn.Close())
	select {
	case err := <-errc:
		require.ErrorIs(t, err, unix.ECONNRESET)
		assert.Less(t, time.Since(start), 2*time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("the caller was not failed when the owner went")
	}
	waitCtrl(t, sub.Netlink(), genl.CmdDelFamily, "doomed")
	_, err = gc.GetFamily(ctx, "doomed")
	require.ErrorIs(t, err, unix.ENOENT)
	// The cache drops the entry on the DELFAMILY it receives (its age
	// bound is far longer than this wait).
	assert.Eventually(t, func() bool {
		_, err := cached.LookupFamily(ctx, "doomed")
		return errors.Is(err, unix.ENOENT)
	}, 5*time.Second, 10*time.Millisecond)
	// The name is free again.
	_, err = bus.RegisterFamily(ctx, srv.Dial(t, nil), kvSpec("doomed"))
	require.NoError(t, err)
}

// waitCtrl reads c until a controller notification cmd about family name.
func waitCtrl(t *testing.T, c *netlink.Conn, cmd uint8, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		msgs, err := c.Receive(ctx)
		require.NoError(t, err)
		for _, m := range msgs {
			if uint16(m.Header.Type) != genl.CtrlID || len(m.Data) < 4 || m.Data[0] != cmd {
				continue
			}
			assert.Equal(t, uint32(bus.NotifyGroup), m.Addr.Group)
			var f genl.Family
			require.NoError(t, f.UnmarshalAttributes(m.Data[4:]))
			if f.Name == name {
				return
			}
		}
	}
}

// Registration errors: bad specs are refused with extended-ack text, and
// an unknown family type still gets EOPNOTSUPP.
func TestRegistryBadSpecs(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	c := srv.Dial(t, nil)
	_, err := bus.RegisterFamily(ctx, c, bus.FamilySpec{Name: "nlctrl", Ops: []bus.Op{{Cmd: 1, Flags: genl.CmdCapDo}}})
	require.ErrorIs(t, err, unix.EEXIST)
	_, err = bus.RegisterFamily(ctx, c, bus.FamilySpec{Name: "noops-but-bad-op", Ops: []bus.Op{{Cmd: 1}}})
	require.ErrorIs(t, err, unix.EINVAL)
	_, err = bus.RegisterFamily(ctx, c, bus.FamilySpec{})
	require.ErrorIs(t, err, unix.EINVAL)
	// Names a terminal, a rule or FAMILY/GROUP would misread.
	for _, spec := range []bus.FamilySpec{
		{Name: "ev\x1b[31mil"}, {Name: "nl\nfake"}, {Name: "x*"}, {Name: "a/b"}, {Name: "sp ace"},
		{Name: "okname", Groups: []string{"bad\tgroup"}},
		{Name: "okname", Ops: []bus.Op{{Cmd: 1, Name: "a/b", Flags: genl.CmdCapDo}}},
	} {
		if len(spec.Ops) == 0 {
			spec.Ops = []bus.Op{{Cmd: 1, Flags: genl.CmdCapDo}}
		}
		_, err = bus.RegisterFamily(ctx, c, spec)
		require.ErrorIs(t, err, unix.EINVAL, "%q", spec.Name)
		assert.Contains(t, err.Error(), "is not allowed")
	}
	_, err = c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: 0x7777}, Data: []byte{1, 1, 0, 0}})
	require.ErrorIs(t, err, unix.EOPNOTSUPP)
	// A connection that owns a family keeps its port.
	fam, err := bus.RegisterFamily(ctx, c, kvSpec("mine"))
	require.NoError(t, err)
	msg, err := bus.ControlMessage(bus.CmdBind, 0, func(ae *netlink.AttributeEncoder) { ae.Uint32(bus.AttrPort, 9999) })
	require.NoError(t, err)
	_, err = c.Execute(ctx, msg)
	require.ErrorIs(t, err, unix.EBUSY)
	// Unregistering: only the owner, then the name is free.
	other := srv.Dial(t, nil)
	require.ErrorIs(t, bus.UnregisterFamily(ctx, other, fam.ID), unix.ENOENT)
	require.NoError(t, bus.UnregisterFamily(ctx, c, fam.ID))
	_, err = bus.RegisterFamily(ctx, other, kvSpec("mine"))
	require.NoError(t, err)
}

// A registration with more top-level attributes than other bus-control
// messages may carry (ethtool's has 113) is read whole: 200 operations.
func TestRegistryManyOps(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	c := srv.Dial(t, nil)
	spec := bus.FamilySpec{Name: "manyops", Version: 1}
	for i := 1; i <= 200; i++ {
		spec.Ops = append(spec.Ops, bus.Op{Cmd: uint8(i), Flags: genl.CmdCapDo})
	}
	fam, err := bus.RegisterFamily(ctx, c, spec)
	require.NoError(t, err)
	assert.Len(t, fam.Ops, 200)
	got, err := genl.NewConn(srv.Dial(t, nil)).GetFamily(ctx, "manyops")
	require.NoError(t, err)
	assert.Len(t, got.Ops, 200)
}

// Requests to a family are remembered until answered, up to
// Server.MaxInflight per owner; past it the daemon refuses with EAGAIN
// rather than grow.
func TestRegistryInflightBound(t *testing.T) {
	ctx := testCtx(t)
	s := &bus.Server{MaxInflight: 4}
	// kvWipe is an admin command: present the callers as root, whoever
	// runs the test (the admin check is TestRegistryAdmin's).
	bus.SetCredsHook(s, func(pid int32, _, _ uint32) (int32, uint32, uint32) { return pid, 0, 0 })
	srv := bustest.NewServer(t, s)
	owner := srv.Dial(t, nil)
	fam, err := bus.RegisterFamily(ctx, owner, kvSpec("silent")) // nobody serves it
	require.NoError(t, err)
	c := srv.Dial(t, nil)
	for i := range 4 {
		_, err := c.Send(ctx, netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(fam.ID), Flags: netlink.Request, Sequence: uint32(100 + i)}, Data: []byte{kvWipe, 1, 0, 0}})
		require.NoError(t, err)
	}
	_, err = c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(fam.ID)}, Data: []byte{kvWipe, 1, 0, 0}})
	require.ErrorIs(t, err, unix.EAGAIN)
	assert.Contains(t, err.Error(), "too many unanswered requests")
}

// A service publishes to its family's group; a client joins it by name
// through genl.
func TestRegistryPublish(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	owner := srv.Dial(t, nil)
	fam, err := bus.RegisterFamily(ctx, owner, kvSpec("pub"))
	require.NoError(t, err)
	gc := genl.NewConn(srv.Dial(t, nil))
	require.NoError(t, gc.JoinGroup(ctx, "pub", "changes"))
	require.NoError(t, bus.Publish(ctx, owner, &fam, "changes", kvSet, func(ae *netlink.AttributeEncoder) { ae.String(kvKey, "k") }))
	require.ErrorIs(t, bus.Publish(ctx, owner, &fam, "nope", kvSet, nil), unix.ENOENT)
	msgs, err := gc.Netlink().Receive(ctx)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	g, _ := fam.Group("changes")
	assert.Equal(t, g.ID, msgs[0].Addr.Group)
	assert.Equal(t, netlink.HeaderType(fam.ID), msgs[0].Header.Type)
	gm, err := genl.ParseMessage(msgs[0].Data)
	require.NoError(t, err)
	assert.Equal(t, uint8(kvSet), gm.Header.Command)
}

// A dump of 100,000 entries streams from the service to a genl caller
// through the daemon, every entry delivered in order.
func TestRegistryBigDump(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 messages")
	}
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	owner := srv.Dial(t, nil)
	fam, err := bus.RegisterFamily(ctx, owner, kvSpec("big"))
	require.NoError(t, err)
	const n = 100_000
	stop := serveDump(ctx, owner, fam, n)
	defer stop()
	gc := genl.NewConn(srv.Dial(t, nil))
	next := uint32(0)
	for m, err := range gc.Dump(ctx, fam.ID, genl.Message{Header: genl.Header{Command: kvList}}) {
		require.NoError(t, err)
		ad := netlink.NewAttributeDecoder(m.Data)
		require.True(t, ad.Next())
		require.Equal(t, next, ad.Uint32())
		next++
	}
	require.Equal(t, uint32(n), next)
}

// A caller that does not read its dump: the service's answers wait for
// room (the owner is not read meanwhile), then the request fails for the
// caller with ENOBUFS from port 0, in its place after what fitted.
func TestRegistryDumpReaderStalls(t *testing.T) {
	ctx, srv, owner, fam := stallSetup(t, "stall", 200*time.Millisecond)
	stop := serveDump(ctx, owner, fam, 20_000)
	defer stop()

	tr := dumpUnread(t, ctx, srv, fam, 9)
	// Not reading for a second, while the owner's answers wait for room:
	// meanwhile two other clients exchange messages through the daemon
	// as usual (a wait holds up no one else).
	a, err := bus.DialTransport(ctx, srv.Path, 0)
	require.NoError(t, err)
	defer a.Close()
	b, err := bus.DialTransport(ctx, srv.Path, 0)
	require.NoError(t, err)
	defer b.Close()
	ping, err := netlink.AppendMessage(nil, netlink.Message{Header: netlink.Header{Type: netlink.MinType}})
	require.NoError(t, err)
	start := time.Now()
	time.Sleep(50 * time.Millisecond) // the answers wait for room by now
	buf := make([]byte, 1<<16)
	for range 50 {
		// Well within answerWait: an exchange that waited for the
		// stalled answers would take until it ends.
		rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		require.NoError(t, a.Send(rctx, ping, netlink.Addr{Port: b.PortID()}))
		_, err := b.Recv(rctx, buf)
		require.NoError(t, err, "a message between others waited for the stalled dump")
		require.NoError(t, b.Send(rctx, ping, netlink.Addr{Port: a.PortID()}))
		_, err = a.Recv(rctx, buf)
		require.NoError(t, err, "a message between others waited for the stalled dump")
		cancel()
	}
	t.Logf("50 exchanges between others during the stall in %v", time.Since(start))
	time.Sleep(time.Second - time.Since(start))
	parts := 0
	for {
		e, payload, err := tr.RecvFrame(ctx)
		require.NoError(t, err)
		msgs, err := netlink.ParseMessages(payload)
		require.NoError(t, err)
		for _, m := range msgs {
			switch m.Header.Type {
			case netlink.Error:
				assert.Zero(t, e.Src, "the failure comes from port 0")
				errno := -int32(binary.NativeEndian.Uint32(m.Data))
				assert.Equal(t, int32(unix.ENOBUFS), errno)
				assert.Greater(t, parts, 100)
				t.Logf("%d parts, then ENOBUFS", parts)
				// The rest of the service's answers, its DONE included,
				// are dropped: the request is over for the caller.
				qctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				defer cancel()
				e, payload, err := tr.RecvFrame(qctx)
				require.ErrorIs(t, err, context.DeadlineExceeded, "a frame after the failure: %+v % x", e, payload)
				return
			case netlink.Done:
				t.Fatal("the dump completed though its reader stalled")
			default:
				if e.Src == 0 {
					parts++
				}
			}
		}
	}
}

// The owner goes while its answers wait for room at a caller that does not
// read: its port is released, and the family with it, at once, not when
// the wait would have ended.
func TestRegistryOwnerGoesWhileAnswersWait(t *testing.T) {
	old := bus.SetAnswerWait(10 * time.Second)
	defer bus.SetAnswerWait(old)
	ctx := testCtx(t)
	srv := bustest.NewServer(t, &bus.Server{QueueBytes: 64 << 10})
	watcher := srv.Dial(t, &netlink.Config{Groups: []uint32{bus.GroupPorts}})
	owner, err := bus.Dial(&bus.Config{Socket: srv.Path})
	require.NoError(t, err)
	fam, err := bus.RegisterFamily(ctx, owner, kvSpec("goes"))
	require.NoError(t, err)
	ownerPort := owner.PortID()
	stop := serveDump(ctx, owner, fam, 50_000)
	dumpUnread(t, ctx, srv, fam, 9)
	time.Sleep(200 * time.Millisecond) // the answers wait for room by now

	start := time.Now()
	require.NoError(t, owner.Close())
	stop()
	var rel bus.PortReleased
	for rel.Port != ownerPort {
		m := recvOne(t, ctx, watcher)
		rel, err = bus.ParsePortReleased(m.Data)
		require.NoError(t, err)
	}
	took := time.Since(start)
	t.Logf("port released %v after the owner closed", took)
	assert.Less(t, took, 2*time.Second, "the release waited for the answer's wait")
	gc := genl.NewConn(srv.Dial(t, nil))
	_, err = gc.GetFamily(ctx, "goes")
	require.Error(t, err, "the family went with its owner")
}

// stalledCaller returns a raw connection that never reads, with its queue
// filled (by multicasts it joined for that), so that every answer to it
// waits and then fails with ENOBUFS.
func stalledCaller(t *testing.T, ctx context.Context, srv *bustest.Server) *bus.Transport {
	t.Helper()
	z, err := bus.DialTransport(ctx, srv.Path, 0)
	require.NoError(t, err)
	t.Cleanup(func() { z.Close() })
	require.NoError(t, z.JoinGroup(300))
	pub, err := bus.DialTransport(ctx, srv.Path, 0)
	require.NoError(t, err)
	defer pub.Close()
	// Frames of 48 bytes, smaller than any answer: the room they leave
	// fits none.
	msg, err := netlink.AppendMessage(nil, netlink.Message{Header: netlink.Header{Type: 0x30}})
	require.NoError(t, err)
	for range 8000 { // past its queue and socket: drops begin
		require.NoError(t, pub.Send(ctx, msg, netlink.Addr{Group: 300}))
	}
	// The daemon may route pub's frames after a request z sends next (each
	// connection is read on its own): z is stalled once drops are counted.
	waitStats(t, ctx, srv, "drops for the stalled caller", func(st bus.Stats) bool { return st.Dropped > 0 })
	return z
}

// waitStats polls the daemon's counters, through a connection of its own,
// until ok holds (at most 5 s).
func waitStats(t *testing.T, ctx context.Context, srv *bustest.Server, what string, ok func(bus.Stats) bool) bus.Stats {
	t.Helper()
	c := srv.Dial(t, nil)
	defer c.Close()
	var st bus.Stats
	require.Eventually(t, func() bool {
		var err error
		st, err = bus.GetStats(ctx, c)
		require.NoError(t, err)
		t.Logf("stats %+v", st)
		return ok(st)
	}, 5*time.Second, time.Millisecond, "waiting for %s", what)
	return st
}

// A do request whose one reply fails with ENOBUFS ends there: failures
// leave nothing behind that would, past the in-flight bound, refuse other
// callers with EAGAIN.
func TestRegistryFailedRepliesLeaveNoRecord(t *testing.T) {
	old := bus.SetAnswerWait(20 * time.Millisecond)
	defer bus.SetAnswerWait(old)
	ctx := testCtx(t)
	srv := bustest.NewServer(t, &bus.Server{QueueBytes: 64 << 10, MaxInflight: 3})
	kv := startKV(t, srv, "records")
	z := stalledCaller(t, ctx, srv)
	for seq := uint32(1); seq <= 6; seq++ { // twice the bound, one at a time
		req, err := netlink.AppendMessage(nil, netlink.Message{
			Header: netlink.Header{Type: netlink.HeaderType(kv.fam.ID), Flags: netlink.Request, Sequence: seq},
			Data:   append([]byte{kvSet, 1, 0, 0}, kvAttrs(t, "k", 1)...),
		})
		require.NoError(t, err)
		require.NoError(t, z.Send(ctx, req, netlink.Addr{}))
		require.Eventually(t, func() bool { return kv.calls.Load() == int32(seq) }, 2*time.Second, time.Millisecond,
			"request %d did not reach the service (refused: a failed one's record stayed)", seq)
		time.Sleep(60 * time.Millisecond) // its reply waits 20 ms and fails
	}
	gc := genl.NewConn(srv.Dial(t, nil))
	_, err := gc.Execute(ctx, kv.fam.ID, genl.Message{Header: genl.Header{Command: kvSet}, Data: kvAttrs(t, "k", 2)}, 0)
	require.NoError(t, err, "another caller refused after the stalled caller's failures")
}

// After a dump failed with ENOBUFS, its sequence number cannot be reused
// while its answers are still being dropped: a new request with it is
// refused with EBUSY, rather than handed the old one's leftovers.
func TestRegistryFailedSequenceBusy(t *testing.T) {
	ctx, srv, owner, fam := stallSetup(t, "busy", 20*time.Millisecond)
	release := make(chan struct{})
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- bus.Serve(sctx, owner, fam, map[uint8]bus.Handler{
			kvList: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
				if err := w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) { ae.Uint32(kvValue, 1) }); err != nil {
					return err
				}
				<-release // the rest comes later
				return w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) { ae.Uint32(kvValue, 2) })
			},
		})
	}()
	defer func() { cancel(); <-done }()
	z := stalledCaller(t, ctx, srv)
	dump := func(seq uint32) []byte {
		req, err := netlink.AppendMessage(nil, netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(fam.ID), Flags: netlink.Request | netlink.Dump, Sequence: seq}, Data: []byte{kvList, 1, 0, 0}})
		require.NoError(t, err)
		return req
	}
	before := waitStats(t, ctx, srv, "the stats", func(bus.Stats) bool { return true }).Refused
	require.NoError(t, z.Send(ctx, dump(55), netlink.Addr{}))
	// Its first part fails with ENOBUFS after 20 ms: counted as refused.
	failed := waitStats(t, ctx, srv, "the first dump's failure", func(st bus.Stats) bool { return st.Refused > before }).Refused
	require.NoError(t, z.Send(ctx, dump(55), netlink.Addr{}))
	// The daemon reads z and the owner apart: the first dump may end only
	// once the second was refused.
	waitStats(t, ctx, srv, "the second dump's refusal", func(st bus.Stats) bool { return st.Refused > failed })
	close(release)
	// Everything z got, in order, ends with: ENOBUFS for the first dump,
	// then EBUSY for the second, and nothing of the first dump's rest.
	var errnos []int32
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		rctx, rcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		e, payload, err := z.RecvFrame(rctx)
		rcancel()
		var oe *bus.OverrunError
		if errors.As(err, &oe) {
			continue // the multicasts that filled its queue
		}
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			break
		}
		if e.Src != 0 || e.Group != 0 {
			continue
		}
		msgs, err := netlink.ParseMessages(payload)
		require.NoError(t, err)
		for _, m := range msgs {
			t.Logf("got %+v %x", m.Header, m.Data)
			require.NotEqual(t, netlink.Done, m.Header.Type, "the first dump's DONE reached the caller")
			if m.Header.Type == netlink.Error && m.Header.Sequence == 55 {
				errnos = append(errnos, -int32(binary.NativeEndian.Uint32(m.Data)))
			}
		}
	}
	assert.Equal(t, []int32{int32(unix.ENOBUFS), int32(unix.EBUSY)}, errnos)
}

// serveDump serves fam from owner, answering its list command with n parts
// (kvValue 0, 1, ...), until stop is called.
func serveDump(ctx context.Context, owner *netlink.Conn, fam genl.Family, n int) (stop func()) {
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- bus.Serve(sctx, owner, fam, map[uint8]bus.Handler{
			kvList: func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
				for i := range n {
					if err := w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) { ae.Uint32(kvValue, uint32(i)) }); err != nil {
						return err
					}
				}
				return nil
			},
		})
	}()
	return func() { cancel(); <-done }
}

// stallSetup starts a server with 64 KiB queues whose family answers wait
// at most wait for room (restored after the server closed), and registers
// the family name from owner.
func stallSetup(t *testing.T, name string, wait time.Duration) (context.Context, *bustest.Server, *netlink.Conn, genl.Family) {
	t.Helper()
	old := bus.SetAnswerWait(wait)
	t.Cleanup(func() { bus.SetAnswerWait(old) })
	ctx := testCtx(t)
	srv := bustest.NewServer(t, &bus.Server{QueueBytes: 64 << 10})
	owner := srv.Dial(t, nil)
	fam, err := bus.RegisterFamily(ctx, owner, kvSpec(name))
	require.NoError(t, err)
	return ctx, srv, owner, fam
}

// dumpUnread asks fam for its list dump with sequence seq from a new
// connection, which it returns (closed when the test ends) without reading.
func dumpUnread(t *testing.T, ctx context.Context, srv *bustest.Server, fam genl.Family, seq uint32) *bus.Transport {
	t.Helper()
	tr, err := bus.DialTransport(ctx, srv.Path, 0)
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	req, err := netlink.AppendMessage(nil, netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(fam.ID), Flags: netlink.Request | netlink.Dump, Sequence: seq}, Data: []byte{kvList, 1, 0, 0}})
	require.NoError(t, err)
	require.NoError(t, tr.Send(ctx, req, netlink.Addr{}))
	return tr
}
