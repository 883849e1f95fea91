package genl_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genltest"
	"github.com/nlbus/netlink/nltest"
)

func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if f := flag.Lookup("test.fuzz"); code == 0 && (f == nil || f.Value.String() == "") {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			os.Stderr.Write(buf)
			os.Stderr.WriteString("genl: leaked goroutines\n")
			code = 1
		}
	}
	os.Exit(code)
}

var demo = genl.Family{
	Name: "demo", Version: 3, HeaderSize: 0, MaxAttr: 4,
	Ops: []genl.Op{
		{ID: 1, Flags: genl.CmdCapDo | genl.CmdCapHasPolicy},
		{ID: 2, Flags: genl.CmdCapDump | genl.CmdCapHasPolicy},
		{ID: 3, Flags: genl.CmdCapDo | genl.AdminPerm},
	},
	Groups: []genl.Group{{Name: "events"}, {Name: "stats"}},
}

// echo answers a do with its request, and a dump with three copies.
func echo(req genl.Message, nl netlink.Message) ([]genl.Message, error) {
	if req.Header.Command == 9 {
		return nil, syscall.EPERM
	}
	r := genl.Message{Header: req.Header, Data: append([]byte(nil), req.Data...)}
	if nl.Header.Flags&netlink.Dump == netlink.Dump {
		return []genl.Message{r, r, r}, nil
	}
	return []genl.Message{r}, nil
}

func newServer(t *testing.T, cfg *genltest.Config) (*genltest.Server, *genl.Conn) {
	t.Helper()
	srv := genltest.NewServer(cfg, genltest.Family{Family: demo, Handler: echo})
	nc, err := srv.Dial()
	require.NoError(t, err)
	c := genl.NewConn(nc)
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func sent(c *genl.Conn) int { return len(mustMem(c.Netlink()).Sent()) }

func TestGetFamily(t *testing.T) {
	ctx := context.Background()
	_, c := newServer(t, nil)

	f, err := c.GetFamily(ctx, "demo")
	require.NoError(t, err)
	assert.Equal(t, "demo", f.Name)
	assert.NotZero(t, f.ID)
	assert.Equal(t, uint32(3), f.Version)
	assert.Equal(t, uint32(4), f.MaxAttr)
	assert.Equal(t, demo.Ops, f.Ops)
	require.Len(t, f.Groups, 2)
	assert.Equal(t, "events", f.Groups[0].Name)
	assert.NotZero(t, f.Groups[0].ID)

	op, ok := f.Op(1)
	require.True(t, ok)
	assert.True(t, op.CanDo())
	assert.False(t, op.CanDump())
	assert.True(t, op.HasPolicy())
	op, _ = f.Op(3)
	assert.True(t, op.NeedsAdmin())
	assert.Equal(t, "admin-perm|do", op.Flags.String())
	assert.Equal(t, "do|dump|has-policy|uns-admin-perm|0x20", (genl.CmdCapDo | genl.CmdCapDump | genl.CmdCapHasPolicy | genl.UnsAdminPerm | 0x20).String())

	byID, err := c.GetFamilyByID(ctx, f.ID)
	require.NoError(t, err)
	assert.Equal(t, f, byID)

	// A GETFAMILY of one family always gets one reply or an error: it asks
	// for no ACK, which saves a read.
	sentMsgs := mustMem(c.Netlink()).Sent()
	last := sentMsgs[len(sentMsgs)-1]
	h, err := netlink.ParseHeader(last)
	require.NoError(t, err)
	assert.Zero(t, h.Flags&netlink.Acknowledge, "GETFAMILY without NLM_F_ACK")

	ctrl, err := c.GetFamily(ctx, "nlctrl")
	require.NoError(t, err)
	assert.Equal(t, genl.CtrlID, ctrl.ID)
	g, ok := ctrl.Group("notify")
	require.True(t, ok)
	assert.Equal(t, uint32(0x10), g.ID)
}

func TestGetFamilyNotFound(t *testing.T) {
	ctx := context.Background()
	_, c := newServer(t, nil)
	_, err := c.GetFamily(ctx, "foo")
	var nf *genl.NotFoundError
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, `genl: family "foo" not found`, err.Error())
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorIs(t, err, syscall.ENOENT)

	_, err = c.GetFamilyByID(ctx, 999)
	require.ErrorIs(t, err, os.ErrNotExist)

	_, err = c.GroupID(ctx, "demo", "nope")
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, "nope", nf.Group)
}

// An empty or over-long family name, or an ID no family can have, is an
// invalid argument, refused before anything is sent.
func TestGetFamilyInvalidArgument(t *testing.T) {
	ctx := context.Background()
	_, c := newServer(t, nil)
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{name: "empty name", want: `genl: get family "": invalid argument: a family name is 1 to 15 bytes without NUL`,
			call: func() error { _, err := c.GetFamily(ctx, ""); return err }},
		{name: "16 bytes", want: `genl: get family "abcdefghijklmnop": invalid argument: a family name is 1 to 15 bytes without NUL`,
			call: func() error { _, err := c.GetFamily(ctx, "abcdefghijklmnop"); return err }},
		{name: "NUL inside", want: `genl: get family "a\x00b": invalid argument: a family name is 1 to 15 bytes without NUL`,
			call: func() error { _, err := c.GetFamily(ctx, "a\x00b"); return err }},
		{name: "id 0", want: "genl: get family id 0: invalid argument: family IDs start at 16 (GENL_ID_CTRL)",
			call: func() error { _, err := c.GetFamilyByID(ctx, 0); return err }},
		{name: "lookup", want: `genl: get family "": invalid argument: a family name is 1 to 15 bytes without NUL`,
			call: func() error { _, err := c.LookupFamily(ctx, ""); return err }},
		{name: "group of an over-long family", want: `genl: get family "abcdefghijklmnopq": invalid argument: a family name is 1 to 15 bytes without NUL`,
			call: func() error { _, err := c.GroupID(ctx, "abcdefghijklmnopq", "g"); return err }},
		{name: "policy", want: `genl: policy of "": invalid argument: a family name is 1 to 15 bytes without NUL`,
			call: func() error { _, err := c.GetPolicy(ctx, ""); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := sent(c)
			err := tt.call()
			require.ErrorIs(t, err, os.ErrInvalid)
			assert.NotErrorIs(t, err, os.ErrNotExist)
			assert.Equal(t, tt.want, err.Error())
			assert.Equal(t, n, sent(c), "nothing is sent")
		})
	}
	// The longest valid name is asked for (and not found).
	_, err := c.GetFamily(ctx, "abcdefghijklmno")
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestListFamilies(t *testing.T) {
	_, c := newServer(t, nil)
	fams, err := c.ListFamilies(context.Background())
	require.NoError(t, err)
	names := make([]string, 0, len(fams))
	for _, f := range fams {
		names = append(names, f.Name)
	}
	assert.Equal(t, []string{"nlctrl", "demo"}, names)
	assert.Equal(t, demo.Ops, fams[1].Ops)
}

func TestExecuteAndDump(t *testing.T) {
	ctx := context.Background()
	_, c := newServer(t, nil)
	f, err := c.GetFamily(ctx, "demo")
	require.NoError(t, err)

	req := genl.Message{Header: genl.Header{Command: 1, Version: 3}, Data: []byte{1, 2, 3, 4}}
	got, err := c.Execute(ctx, f.ID, req, 0)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, req, got[0])

	got, err = c.ExecuteFamily(ctx, "demo", req, 0)
	require.NoError(t, err)
	assert.Equal(t, []genl.Message{req}, got)

	n := 0
	for m, err := range c.Dump(ctx, f.ID, req) {
		require.NoError(t, err)
		assert.Equal(t, req, genl.Message{Header: m.Header, Data: slices.Clone(m.Data)})
		n++
	}
	assert.Equal(t, 3, n)
	n = 0
	for _, err := range c.DumpFamily(ctx, "demo", req) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 3, n)

	_, err = c.Execute(ctx, f.ID, genl.Message{Header: genl.Header{Command: 9}}, 0)
	require.ErrorIs(t, err, syscall.EPERM)
	var oe *netlink.OpError
	require.ErrorAs(t, err, &oe)

	_, err = c.ExecuteFamily(ctx, "absent", req, 0)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestJoinGroupByName(t *testing.T) {
	ctx := context.Background()
	srv, c := newServer(t, nil)
	require.NoError(t, c.JoinGroup(ctx, "demo", "stats"))
	id, err := c.GroupID(ctx, "demo", "stats")
	require.NoError(t, err)
	mem := mustMem(c.Netlink())
	assert.Equal(t, []uint32{id}, mem.Groups())

	ev := genl.Message{Header: genl.Header{Command: 7, Version: 3}, Data: []byte{9, 9, 9, 9}}
	require.NoError(t, srv.Multicast("demo", "stats", ev))
	msgs, err := c.Netlink().Receive(ctx)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, id, msgs[0].Addr.Group)
	got, err := genl.ParseMessage(msgs[0].Data)
	require.NoError(t, err)
	assert.Equal(t, ev, got)

	require.NoError(t, c.LeaveGroup(ctx, "demo", "stats"))
	assert.Empty(t, mem.Groups())
	require.ErrorIs(t, c.JoinGroup(ctx, "demo", "nope"), os.ErrNotExist)
}

func enableCache(t *testing.T, srv *genltest.Server, c *genl.Conn) {
	t.Helper()
	sub, err := srv.Dial()
	require.NoError(t, err)
	require.NoError(t, c.EnableCache(context.Background(), sub))
	require.True(t, c.CacheOn())
}

func TestCacheFollowsNotifications(t *testing.T) {
	ctx := context.Background()
	srv, c := newServer(t, nil)

	// Without the cache, every lookup is a round trip.
	n := sent(c)
	_, err := c.LookupFamily(ctx, "demo")
	require.NoError(t, err)
	_, err = c.LookupFamily(ctx, "demo")
	require.NoError(t, err)
	assert.Equal(t, n+2, sent(c))

	enableCache(t, srv, c)
	require.ErrorContains(t, c.EnableCache(ctx, nil), "already enabled")

	// The first lookup fills the cache; the next ones cost nothing.
	old, err := c.LookupFamily(ctx, "demo")
	require.NoError(t, err)
	n = sent(c)
	for range 3 {
		f, err := c.LookupFamily(ctx, "demo")
		require.NoError(t, err)
		assert.Equal(t, old, f)
		_, err = c.GroupID(ctx, "demo", "events")
		require.NoError(t, err)
	}
	assert.Equal(t, n, sent(c), "cached lookups must not reach the controller")

	// Removed while cached: DELFAMILY empties the entry.
	require.NoError(t, srv.RemoveFamily("demo"))
	require.Eventually(t, func() bool { _, ok := c.CachedFamily("demo"); return !ok }, 2*time.Second, 5*time.Millisecond)
	_, err = c.LookupFamily(ctx, "demo")
	require.ErrorIs(t, err, os.ErrNotExist)

	// Added back (with a new ID): NEWFAMILY is not taken as the family's
	// description (FreeBSD sends it before the family is complete); the
	// next lookup asks the controller, once.
	re := demo
	re.Groups = append(slices.Clone(demo.Groups), genl.Group{Name: "extra"})
	gen := c.CacheGeneration()
	added, err := srv.AddFamily(genltest.Family{Family: re, Handler: echo})
	require.NoError(t, err)
	assert.NotEqual(t, old.ID, added.ID)
	// NEWFAMILY and one NEWMCAST_GRP per group.
	require.Eventually(t, func() bool { return c.CacheGeneration() >= gen+1+uint64(len(re.Groups)) }, 2*time.Second, 5*time.Millisecond)
	n = sent(c)
	f, err := c.LookupFamily(ctx, "demo")
	require.NoError(t, err)
	assert.Equal(t, added, f)
	m := sent(c)
	assert.Greater(t, m, n, "asked the controller")
	_, err = c.LookupFamily(ctx, "demo")
	require.NoError(t, err)
	assert.Equal(t, m, sent(c), "and cached its answer")

	// A family nobody looked up is not cached from its announcement.
	_, err = srv.AddFamily(genltest.Family{Family: genl.Family{Name: "other", Version: 1}})
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond)
	_, ok := c.CachedFamily("other")
	assert.False(t, ok, "announcements do not fill the cache")
}

// On FreeBSD the cache cannot rely on notifications: an entry is asked for
// again once older than its maximum age (FreeBSDCacheMaxAge there).
func TestCacheMaxAge(t *testing.T) {
	ctx := context.Background()
	srv, c := newServer(t, nil)
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c.SetCacheMaxAge(time.Second, clock)
	enableCache(t, srv, c)

	_, err := c.LookupFamily(ctx, "demo")
	require.NoError(t, err)
	tests := []struct {
		advance time.Duration
		asks    bool
	}{
		{0, false},
		{time.Second, false},
		{time.Millisecond, true}, // 1.001 s old: asked again, fresh
		{500 * time.Millisecond, false},
		{time.Hour, true},
	}
	for _, tt := range tests {
		advance(tt.advance)
		n := sent(c)
		_, err := c.LookupFamily(ctx, "demo")
		require.NoError(t, err)
		assert.Equal(t, tt.asks, sent(c) > n, "after %v more", tt.advance)
	}
}

func TestCacheInvalidatedOnOverrun(t *testing.T) {
	ctx := context.Background()
	srv, c := newServer(t, nil)
	enableCache(t, srv, c)
	_, err := c.LookupFamily(ctx, "demo")
	require.NoError(t, err)
	_, ok := c.CachedFamily("demo")
	require.True(t, ok)

	srv.Overrun()
	require.Eventually(t, func() bool { _, ok := c.CachedFamily("demo"); return !ok }, 2*time.Second, 5*time.Millisecond)
	assert.True(t, c.CacheOn(), "an overrun empties the cache but keeps it on")

	// It refills on demand and keeps following notifications.
	_, err = c.LookupFamily(ctx, "demo")
	require.NoError(t, err)
	_, ok = c.CachedFamily("demo")
	require.True(t, ok)
	require.NoError(t, srv.RemoveFamily("demo"))
	require.Eventually(t, func() bool { _, ok := c.CachedFamily("demo"); return !ok }, 2*time.Second, 5*time.Millisecond)
}

func TestCacheConcurrentLookups(t *testing.T) {
	ctx := context.Background()
	srv, c := newServer(t, nil)
	enableCache(t, srv, c)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			name := "f" + strings.Repeat("x", i%5)
			srv.AddFamily(genltest.Family{Family: genl.Family{Name: name}})
			srv.RemoveFamily(name)
		}
	}()
	for range 200 {
		_, err := c.LookupFamily(ctx, "demo")
		require.NoError(t, err)
	}
	<-done
}

func TestCacheCloseStopsWatcher(t *testing.T) {
	srv := genltest.NewServer(nil)
	nc, err := srv.Dial()
	require.NoError(t, err)
	c := genl.NewConn(nc)
	sub, err := srv.Dial()
	require.NoError(t, err)
	require.NoError(t, c.EnableCache(context.Background(), sub))
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	assert.False(t, c.CacheOn())
	_, err = sub.Receive(context.Background())
	require.ErrorIs(t, err, netlink.ErrClosed)
	require.ErrorIs(t, c.EnableCache(context.Background(), sub), netlink.ErrClosed)
}

func mustMem(c *netlink.Conn) *nltest.Mem {
	m, err := nltest.MemOf(c)
	if err != nil {
		panic(err)
	}
	return m
}

func TestDo(t *testing.T) {
	ctx := context.Background()
	_, c := newServer(t, nil)
	f, err := c.GetFamily(ctx, "demo")
	require.NoError(t, err)
	req := genl.Message{Header: genl.Header{Command: 1, Version: 3}, Data: []byte{1, 2, 3, 4}}
	errStop := errors.New("stop")

	tests := []struct {
		name    string
		family  string // by name when set, else by f.ID
		msg     genl.Message
		fnErr   error
		want    []genl.Message
		wantErr error
	}{
		{name: "by id", msg: req, want: []genl.Message{req}},
		{name: "by name", family: "demo", msg: req, want: []genl.Message{req}},
		{name: "callback error", msg: req, fnErr: errStop, want: []genl.Message{req}, wantErr: errStop},
		{name: "family error", msg: genl.Message{Header: genl.Header{Command: 9}}, wantErr: syscall.EPERM},
		{name: "unknown family", family: "absent", msg: req, wantErr: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []genl.Message
			fn := func(m genl.Message) error {
				got = append(got, genl.Message{Header: m.Header, Data: slices.Clone(m.Data)})
				return tt.fnErr
			}
			var (
				ack netlink.Ack
				err error
			)
			if tt.family != "" {
				ack, err = c.DoFamily(ctx, tt.family, tt.msg, 0, fn)
			} else {
				ack, err = c.Do(ctx, f.ID, tt.msg, 0, fn)
			}
			assert.Equal(t, tt.want, got)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.True(t, ack.Received, "the request's ACK ends Do")
		})
	}
}
