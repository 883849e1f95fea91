package rtnl_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/rtnl"
)

// first returns the first captured message that dec accepts.
func first(t testing.TB, name string, ok func(netlink.Message) bool) netlink.Message {
	for _, m := range captured(t, name) {
		if ok(m) {
			return m
		}
	}
	t.Fatalf("no suitable message in %s", name)
	return netlink.Message{}
}

// Allocation budgets of the decoders: a plain route costs nothing, a link
// one allocation (strings, addresses and kept attributes together).
func TestDecodeAllocs(t *testing.T) {
	route := first(t, "routes", func(m netlink.Message) bool {
		r, err := rtnl.DecodeRoute(linux, m.Data)
		return err == nil && len(r.Extra) == 0 && r.Multipath == nil && r.Metrics == nil
	})
	link := first(t, "links", func(m netlink.Message) bool {
		l, err := rtnl.DecodeLink(linux, m.Data)
		return err == nil && l.Name == "d0"
	})
	var (
		r   rtnl.Route
		l   rtnl.Link
		err error
	)
	assert.Zero(t, testing.AllocsPerRun(100, func() { r, err = rtnl.DecodeRoute(linux, route.Data) }))
	require.NoError(t, err)
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { l, err = rtnl.DecodeLink(linux, link.Data) }))
	require.NoError(t, err)
	_ = r
	_ = l
}

func BenchmarkDecodeLink(b *testing.B) {
	m := first(b, "links", func(m netlink.Message) bool {
		l, err := rtnl.DecodeLink(linux, m.Data)
		return err == nil && l.Name == "d0"
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rtnl.DecodeLink(linux, m.Data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRoute(b *testing.B) {
	m := first(b, "routes", func(m netlink.Message) bool {
		_, err := rtnl.DecodeRoute(linux, m.Data)
		return err == nil
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rtnl.DecodeRoute(linux, m.Data); err != nil {
			b.Fatal(err)
		}
	}
}
