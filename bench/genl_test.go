//go:build linux

package bench

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	vnl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bench/internal/dumps"
	"github.com/nlbus/netlink/genl"
)

// family is what a GETFAMILY reply decodes into, the same fields as
// genetlink.Family: the allocations of keeping it (name, ops, groups and
// their names) are "the Family".
type family struct {
	id                        uint16
	name                      string
	version, hdrSize, maxAttr uint32
	ops                       []familyOp
	groups                    []familyGroup
}

type familyOp struct{ id, flags uint32 }

type familyGroup struct {
	id   uint32
	name string
}

var sinkFamily family

const genlHdrLen = 4 // struct genlmsghdr

// appendGetFamily appends a CTRL_CMD_GETFAMILY request for name: genlmsghdr
// and CTRL_ATTR_FAMILY_NAME.
func appendGetFamily(ae *netlink.AttributeEncoder, buf []byte, name string) ([]byte, error) {
	buf = append(buf[:0], unix.CTRL_CMD_GETFAMILY, 1, 0, 0)
	ae.Reset(buf)
	ae.String(unix.CTRL_ATTR_FAMILY_NAME, name)
	return ae.Bytes()
}

// decodeFamily decodes a GETFAMILY reply (genlmsghdr and attributes) with
// the nlbus decoder, copying what it keeps; f's slices are reused.
func decodeFamily(ad *netlink.AttributeDecoder, b []byte, f *family) error {
	if len(b) < genlHdrLen {
		return netlink.ErrShortMessage
	}
	f.ops, f.groups = f.ops[:0], f.groups[:0]
	ad.Reset(b[genlHdrLen:])
	for ad.Next() {
		switch ad.Type() {
		case unix.CTRL_ATTR_FAMILY_ID:
			f.id = ad.Uint16()
		case unix.CTRL_ATTR_FAMILY_NAME:
			f.name = ad.String()
		case unix.CTRL_ATTR_VERSION:
			f.version = ad.Uint32()
		case unix.CTRL_ATTR_HDRSIZE:
			f.hdrSize = ad.Uint32()
		case unix.CTRL_ATTR_MAXATTR:
			f.maxAttr = ad.Uint32()
		case unix.CTRL_ATTR_OPS:
			nd := ad.NestedDecoder()
			for nd.Next() {
				od := nd.NestedDecoder()
				var op familyOp
				for od.Next() {
					switch od.Type() {
					case unix.CTRL_ATTR_OP_ID:
						op.id = od.Uint32()
					case unix.CTRL_ATTR_OP_FLAGS:
						op.flags = od.Uint32()
					}
				}
				if err := od.Err(); err != nil {
					return err
				}
				f.ops = append(f.ops, op)
			}
			if err := nd.Err(); err != nil {
				return err
			}
		case unix.CTRL_ATTR_MCAST_GROUPS:
			nd := ad.NestedDecoder()
			for nd.Next() {
				gd := nd.NestedDecoder()
				var g familyGroup
				for gd.Next() {
					switch gd.Type() {
					case unix.CTRL_ATTR_MCAST_GRP_ID:
						g.id = gd.Uint32()
					case unix.CTRL_ATTR_MCAST_GRP_NAME:
						g.name = gd.String()
					}
				}
				if err := gd.Err(); err != nil {
					return err
				}
				f.groups = append(f.groups, g)
			}
			if err := nd.Err(); err != nil {
				return err
			}
		}
	}
	return ad.Err()
}

// BenchmarkGetFamily is a generic-netlink round trip: CTRL_CMD_GETFAMILY for
// "nlctrl", decoded into a family value, on one socket opened before the loop.
//
// nlbus-core is the core Conn (Do, borrowed reply) with the request encoded
// per call into a reused buffer and the reply decoded into a reused family
// (name, ops, groups: the Family's own allocations); the genl package's
// GetFamily is measured as nlbus-genl (decoding into a genl.Family), and
// genl's Do as nlbus-genl-do (reading the family ID only, like raw). Like GetLink,
// nlbus and raw read the reply and the ACK; genetlink and vishvananda ask
// for no ACK (one recvmsg). raw decodes the family ID only: the floor;
// raw-poll is raw in the Go runtime poller (see dumps.Raw).
func BenchmarkGetFamily(b *testing.B) {
	const name = "nlctrl"
	b.Run("nlbus-core", func(b *testing.B) {
		c, err := netlink.Dial(netlink.Generic, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		var (
			ae   netlink.AttributeEncoder
			ad   netlink.AttributeDecoder
			f    family
			buf  = make([]byte, 0, 64)
			derr error
		)
		fn := func(m netlink.Message) error {
			derr = decodeFamily(&ad, m.Data, &f)
			return derr
		}
		b.ReportAllocs()
		for b.Loop() {
			data, err := appendGetFamily(&ae, buf, name)
			if err != nil {
				b.Fatal(err)
			}
			// Drop the previous family, as a caller that keeps each
			// result would: its allocations count.
			f = family{}
			if _, err := c.Do(ctx, netlink.Message{
				Header: netlink.Header{Type: unix.GENL_ID_CTRL},
				Data:   data,
			}, fn); err != nil {
				b.Fatal(err)
			}
			if f.id != unix.GENL_ID_CTRL || f.name != name {
				b.Fatalf("got family %d %q", f.id, f.name)
			}
		}
		sinkFamily = f
	})
	b.Run("nlbus-genl", func(b *testing.B) {
		c, err := genl.Dial(nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			f, err := c.GetFamily(ctx, name)
			if err != nil {
				b.Fatal(err)
			}
			if f.ID != unix.GENL_ID_CTRL || f.Name != name {
				b.Fatalf("got family %d %q", f.ID, f.Name)
			}
		}
	})
	b.Run("nlbus-genl-do", func(b *testing.B) {
		// genl.Conn.Do with a request encoded once and a callback that, like
		// raw, reads the family ID only: the generic-netlink request path
		// without the Family's allocations.
		c, err := genl.Dial(nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		var ae netlink.AttributeEncoder
		ae.String(unix.CTRL_ATTR_FAMILY_NAME, name)
		attrs, err := ae.Bytes()
		if err != nil {
			b.Fatal(err)
		}
		req := genl.Message{Header: genl.Header{Command: unix.CTRL_CMD_GETFAMILY, Version: 1}, Data: attrs}
		var (
			id uint16
			ad netlink.AttributeDecoder
		)
		fn := func(m genl.Message) error {
			ad.Reset(m.Data)
			for ad.Next() {
				if ad.Type() == unix.CTRL_ATTR_FAMILY_ID {
					id = ad.Uint16()
				}
			}
			return ad.Err()
		}
		b.ReportAllocs()
		for b.Loop() {
			id = 0
			if _, err := c.Do(ctx, unix.GENL_ID_CTRL, req, 0, fn); err != nil {
				b.Fatal(err)
			}
			if id != unix.GENL_ID_CTRL {
				b.Fatalf("got family %d", id)
			}
		}
	})
	b.Run("genetlink", func(b *testing.B) {
		c, err := genetlink.Dial(nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		for b.Loop() {
			f, err := c.GetFamily(name)
			if err != nil {
				b.Fatal(err)
			}
			if f.ID != unix.GENL_ID_CTRL {
				b.Fatalf("got family %d", f.ID)
			}
		}
	})
	b.Run("vishvananda", func(b *testing.B) {
		h, err := vnl.NewHandle(unix.NETLINK_GENERIC)
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		b.ReportAllocs()
		for b.Loop() {
			f, err := h.GenlFamilyGet(name)
			if err != nil {
				b.Fatal(err)
			}
			if f.ID != unix.GENL_ID_CTRL {
				b.Fatalf("got family %d", f.ID)
			}
		}
	})
	var ae netlink.AttributeEncoder
	req, err := appendGetFamily(&ae, nil, name)
	if err != nil {
		b.Fatal(err)
	}
	raw := func(flags uint16, dial func(proto, nsfd int) (*dumps.Raw, error)) func(b *testing.B) {
		return func(b *testing.B) {
			r, err := dial(unix.NETLINK_GENERIC, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			var id uint16
			fn := func(_ uint16, data []byte) {
				// The floor decodes the family ID only.
				if len(data) < genlHdrLen {
					return
				}
				a := data[genlHdrLen:]
				for len(a) >= 4 {
					l := int(he.Uint16(a))
					if l < 4 || l > len(a) {
						return
					}
					if he.Uint16(a[2:])&nlaTypeMask == unix.CTRL_ATTR_FAMILY_ID && l == 6 {
						id = he.Uint16(a[4:])
					}
					a = a[min((l+3)&^3, len(a)):]
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				id = 0
				if err := r.Do(unix.GENL_ID_CTRL, flags, req, fn); err != nil {
					b.Fatal(err)
				}
				if id != unix.GENL_ID_CTRL {
					b.Fatalf("got family %d", id)
				}
			}
		}
	}
	b.Run("raw", raw(unix.NLM_F_ACK, dumps.DialRaw))
	b.Run("raw-poll", raw(unix.NLM_F_ACK, dumps.DialRawPoll))
	b.Run("raw-noack", raw(0, dumps.DialRaw))
}

// BenchmarkGetFamilyPaired alternates, op by op, genl.GetFamily, the raw
// loop that reads the ACK and the raw loop without ACK (the same request and
// ID check as GetFamily/raw and raw-noack), timing each op, and reports the
// median time of each and the ratios of their rates (raw's median over
// genl's). On a shared machine whose load
// changes from one second to the next, ops a few microseconds apart see the
// same load, and the median ignores the ops a preemption hit: the ratio
// holds where separate benchmarks swing by 2x. ns/op is the pair's.
func BenchmarkGetFamilyPaired(b *testing.B) {
	const name = "nlctrl"
	c, err := genl.Dial(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r, err := dumps.DialRaw(unix.NETLINK_GENERIC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var ae netlink.AttributeEncoder
	req, err := appendGetFamily(&ae, nil, name)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var id uint16
	fn := func(_ uint16, data []byte) {
		if len(data) < genlHdrLen {
			return
		}
		a := data[genlHdrLen:]
		for len(a) >= 4 {
			l := int(he.Uint16(a))
			if l < 4 || l > len(a) {
				return
			}
			if he.Uint16(a[2:])&nlaTypeMask == unix.CTRL_ATTR_FAMILY_ID && l == 6 {
				id = he.Uint16(a[4:])
			}
			a = a[min((l+3)&^3, len(a)):]
		}
	}
	genlNs := make([]int64, 0, b.N)
	rawNs := make([]int64, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	doGenl := func() time.Duration {
		t0 := time.Now()
		f, err := c.GetFamily(ctx, name)
		d := time.Since(t0)
		if err != nil || f.ID != unix.GENL_ID_CTRL {
			b.Fatalf("genl: family %d, %v", f.ID, err)
		}
		return d
	}
	doRaw := func(flags uint16) time.Duration {
		id = 0
		t0 := time.Now()
		err := r.Do(unix.GENL_ID_CTRL, flags, req, fn)
		d := time.Since(t0)
		if err != nil || id != unix.GENL_ID_CTRL {
			b.Fatalf("raw: family %d, %v", id, err)
		}
		return d
	}
	noackNs := make([]int64, 0, b.N)
	for i := 0; i < b.N; i++ {
		// Rotate which goes first, so none always finds the others'
		// caches warm.
		switch i % 3 {
		case 0:
			genlNs = append(genlNs, int64(doGenl()))
			rawNs = append(rawNs, int64(doRaw(unix.NLM_F_ACK)))
			noackNs = append(noackNs, int64(doRaw(0)))
		case 1:
			rawNs = append(rawNs, int64(doRaw(unix.NLM_F_ACK)))
			noackNs = append(noackNs, int64(doRaw(0)))
			genlNs = append(genlNs, int64(doGenl()))
		default:
			noackNs = append(noackNs, int64(doRaw(0)))
			genlNs = append(genlNs, int64(doGenl()))
			rawNs = append(rawNs, int64(doRaw(unix.NLM_F_ACK)))
		}
	}
	b.StopTimer()
	g, rw, rn := median(genlNs), median(rawNs), median(noackNs)
	b.ReportMetric(g, "genl-ns/op")
	b.ReportMetric(rw, "raw-ns/op")
	b.ReportMetric(rn, "raw-noack-ns/op")
	b.ReportMetric(rw/g, "genl-rate/raw-rate")
	b.ReportMetric(rn/g, "genl-rate/raw-noack-rate")
}

func median(v []int64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return float64(v[len(v)/2])
}
