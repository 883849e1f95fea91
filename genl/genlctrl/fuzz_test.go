package genlctrl_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

// fuzzRegistry holds the controller and checkFamily, whose policy has every
// kind of attribute.
func fuzzRegistry(tb testing.TB) (*genlctrl.Registry, uint16) {
	r := genlctrl.New(nil)
	spec, _ := checkFamily()
	f, _, err := r.Register(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return r, f.ID
}

// FuzzHandle fuzzes the controller with datagrams of requests, as the
// daemon receives them from any client. Its answers must parse, carry the
// request's sequence number and the caller's port, and end as netlink
// answers end.
func FuzzHandle(f *testing.F) {
	r, _ := fuzzRegistry(f)
	var buf []byte
	f.Fuzz(func(t *testing.T, b []byte) {
		var it netlink.MessageIter
		it.Reset(b)
		for it.Next() {
			req := it.Message()
			buf = r.Handle(buf[:0], *req, 42)
			msgs, err := netlink.ParseMessages(buf)
			if err != nil {
				t.Fatalf("answer to %x does not parse: %v", b, err)
			}
			if req.Header.Flags&netlink.Request == 0 && req.Header.Flags&netlink.Acknowledge == 0 {
				if len(msgs) != 0 {
					t.Fatalf("an answer to a message that is not a request")
				}
				continue
			}
			if len(msgs) == 0 && req.Header.Flags&netlink.Acknowledge != 0 {
				t.Fatalf("no ACK for %x", b)
			}
			for i, m := range msgs {
				if m.Header.PID != 42 || m.Header.Sequence != req.Header.Sequence {
					t.Fatalf("message %d: port %d sequence %d", i, m.Header.PID, m.Header.Sequence)
				}
				switch m.Header.Type {
				case netlink.Error, netlink.Done:
					if i != len(msgs)-1 {
						t.Fatalf("message %d of %d ends the answer", i, len(msgs))
					}
					if _, _, err := netlink.ParseError(m); err != nil {
						t.Fatal(err)
					}
				case netlink.HeaderType(genl.CtrlID):
					if _, err := genl.ParseMessage(m.Data); err != nil {
						t.Fatal(err)
					}
				default:
					t.Fatalf("message type %v", m.Header.Type)
				}
			}
		}
	})
}

// FuzzCheck fuzzes the checks of a request to a family: its flags byte
// and payload (genlmsghdr, family header, attributes). A refusal's offset
// must point into the request.
func FuzzCheck(f *testing.F) {
	r, id := fuzzRegistry(f)
	f.Fuzz(func(t *testing.T, flags uint8, admin bool, data []byte) {
		req := netlink.Message{Header: netlink.Header{
			Type: netlink.HeaderType(id), Flags: netlink.Request | netlink.HeaderFlags(flags)<<8,
		}, Data: data}
		ref := r.Check(req, genlctrl.Caller{Admin: admin})
		if ref == nil {
			return
		}
		if ref.Errno == 0 {
			t.Fatal("a refusal without errno")
		}
		if ref.HasOffset && (ref.Offset < 16+4 || int(ref.Offset) > 16+len(data)-4) {
			t.Fatalf("offset %d outside the attributes of %d bytes", ref.Offset, len(data))
		}
		if _, err := netlink.ParseMessages(genlctrl.AppendError(nil, req, 1, ref.Errno, &ref.ExtAck)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestWriteSeeds writes the committed seed corpora under testdata/fuzz
// when GENLCTRL_WRITE_SEEDS is set: the requests of the tests, valid and
// refused, in the form each target takes.
func TestWriteSeeds(t *testing.T) {
	if os.Getenv("GENLCTRL_WRITE_SEEDS") == "" {
		t.Skip("set GENLCTRL_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	write := func(target, name string, args ...any) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := "go test fuzz v1\n"
		for _, a := range args {
			if b, ok := a.([]byte); ok {
				s += fmt.Sprintf("[]byte(%q)\n", b)
				continue
			}
			s += fmt.Sprintf("%T(%v)\n", a, a)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wire := func(msgs ...netlink.Message) []byte {
		var b []byte
		for _, m := range msgs {
			var err error
			if b, err = netlink.AppendMessage(b, m); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	ctrl := []struct {
		name string
		m    netlink.Message
	}{
		{"getfamily-name", request(genl.CtrlID, netlink.Acknowledge, genl.CmdGetFamily, str(2, "nlctrl"))},
		{"getfamily-id", request(genl.CtrlID, 0, genl.CmdGetFamily, rawAttr(1, 0x10, 0))},
		{"getfamily-dump", request(genl.CtrlID, netlink.Dump, genl.CmdGetFamily)},
		{"getfamily-no-nul", request(genl.CtrlID, 0, genl.CmdGetFamily, rawAttr(2, 'n', 'l'))},
		{"getpolicy", request(genl.CtrlID, netlink.Dump, genl.CmdGetPolicy, str(2, "nlctrl"))},
		{"getpolicy-op", request(genl.CtrlID, netlink.Dump, genl.CmdGetPolicy, rawAttr(1, 0x20, 0), rawAttr(10, 1, 0, 0, 0))},
		{"getpolicy-unknown-op", request(genl.CtrlID, netlink.Dump, genl.CmdGetPolicy, str(2, "check"), rawAttr(10, 9, 0, 0, 0))},
		{"getpolicy-nested-flag", request(genl.CtrlID, netlink.Dump, genl.CmdGetPolicy, rawAttr(1|0x8000, 0x10, 0))},
		{"getpolicy-trailing", request(genl.CtrlID, netlink.Dump, genl.CmdGetPolicy, str(2, "nlctrl"), []byte{1, 0})},
		{"unknown-command", request(genl.CtrlID, netlink.Acknowledge, 99)},
		{"other-type", request(0x20, netlink.Acknowledge, 1)},
	}
	for _, c := range ctrl {
		write("FuzzHandle", c.name, wire(c.m))
	}
	write("FuzzHandle", "two-requests", wire(ctrl[0].m, ctrl[4].m))

	nest := func(typ uint16, parts ...[]byte) []byte { return rawAttr(typ|0x8000, cat(parts...)...) }
	fh := []byte{0, 0, 0, 0}
	checks := []struct {
		name  string
		flags uint8
		data  []byte
	}{
		{"ok", 0, cat([]byte{1, 1, 0, 0}, fh, rawAttr(1, u32(15)...), rawAttr(4), str(5, "abc"), nest(11, rawAttr(1, 2)))},
		{"array", 0, cat([]byte{1, 1, 0, 0}, fh, nest(12, nest(1, rawAttr(1, 2)), nest(2, rawAttr(1, 9))))},
		{"bitfield32", 0, cat([]byte{1, 1, 0, 0}, fh, rawAttr(10, cat(u32(1), u32(3))...))},
		{"strings", 0, cat([]byte{1, 1, 0, 0}, fh, str(5, "abcde"), rawAttr(6, 'a'), rawAttr(7, 1, 2, 3))},
		{"uint", 0, cat([]byte{1, 1, 0, 0}, fh, rawAttr(13, u64(101)...), rawAttr(14, u32(7)...))},
		{"deep", 0, cat([]byte{1, 1, 0, 0}, fh, nest(15, nest(1, nest(1, nest(1)))))},
		{"liberal", 0, cat([]byte{2, 1, 0, 0}, fh, rawAttr(21), rawAttr(1, 1, 2), []byte{1, 0})},
		{"dump", 3, cat([]byte{1, 1, 0, 0}, fh, rawAttr(1, u32(1)...))},
		{"admin", 0, cat([]byte{3, 1, 0, 0}, fh)},
		{"short", 0, []byte{1, 1}},
	}
	for _, c := range checks {
		write("FuzzCheck", c.name, c.flags, false, c.data)
	}
}
