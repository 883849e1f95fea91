//go:build freebsd

package netlink_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/transport"
)

// These tests run in the FreeBSD VM jobs (as root for the whole suite, as a
// user for the read-only ones). FreeBSD has no network namespaces: the tests
// only read kernel state, join a group and provoke an error reply, and change
// nothing.

// rtnetlink values shared with Linux (FreeBSD sys/netlink/route/common.h,
// interface.h, ifaddrs.h).
const (
	bsdRTMGetLink = 18
	bsdRTMNewAddr = 20
	bsdRTMGetAddr = 22
	bsdIFLAIfname = 3
	bsdIFAAddress = 1
)

func dialFreeBSD(t *testing.T, cfg *netlink.Config) *netlink.Conn {
	t.Helper()
	c, err := netlink.Dial(netlink.Route, cfg)
	if errors.Is(err, netlink.ErrNotSupported) {
		t.Skipf("kernel netlink unavailable (kldload netlink): %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestKernelFreeBSDDumpLinks(t *testing.T) {
	c := dialFreeBSD(t, nil)
	assert.NotZero(t, c.PortID(), "an explicitly bound socket has a port")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var names []string
	for m, err := range c.Dump(ctx, netlink.Message{Header: netlink.Header{Type: bsdRTMGetLink}, Data: make([]byte, 16)}) {
		require.NoError(t, err)
		var ifi [16]byte
		rest, short := netlink.Fixed(ifi[:], m.Data)
		require.False(t, short)
		ad := netlink.NewAttributeDecoder(rest)
		for ad.Next() {
			if ad.Type() == bsdIFLAIfname {
				names = append(names, ad.String())
			}
		}
		require.NoError(t, ad.Err())
	}
	assert.Contains(t, names, "lo0")
}

func TestKernelFreeBSDDumpAddrs(t *testing.T) {
	c := dialFreeBSD(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// ifaddrmsg with family 0: every family.
	msgs, err := c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: bsdRTMGetAddr, Flags: netlink.Dump}, Data: make([]byte, 8)})
	require.NoError(t, err)
	found := false
	for _, m := range msgs {
		require.GreaterOrEqual(t, len(m.Data), 8)
		ad := netlink.NewAttributeDecoder(m.Data[8:])
		for ad.Next() {
			if ad.Type() == bsdIFAAddress && ad.Len() == 4 && ad.Addr().String() == "127.0.0.1" {
				found = true
			}
		}
	}
	assert.True(t, found, "lo0 has 127.0.0.1")
}

func TestKernelFreeBSDErrorReply(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("adding an address needs root")
	}
	c := dialFreeBSD(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ifa := make([]byte, 8)
	ifa[0] = unix.AF_INET
	ifa[1] = 24
	binary.NativeEndian.PutUint32(ifa[4:], 9999) // no such interface
	var ae netlink.AttributeEncoder
	ae.Reset(ifa)
	ae.Raw(bsdIFAAddress, []byte{192, 0, 2, 1})
	b, err := ae.Bytes()
	require.NoError(t, err)
	_, err = c.Execute(ctx, netlink.Message{Header: netlink.Header{Type: bsdRTMNewAddr, Flags: netlink.Create | netlink.Excl}, Data: b})
	require.Error(t, err)
	var oe *netlink.OpError
	require.ErrorAs(t, err, &oe)
	// FreeBSD sends a positive errno; the codec normalises it.
	assert.True(t, errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP), "got %v", err)
}

func TestKernelFreeBSDJoinGroup(t *testing.T) {
	c := dialFreeBSD(t, nil)
	require.NoError(t, c.JoinGroup(1)) // RTNLGRP_LINK
	require.NoError(t, c.LeaveGroup(1))
	// Options FreeBSD lacks wrap ErrNotSupported.
	err := c.SetOption(transport.OptionNoENOBUFS, true)
	require.ErrorIs(t, err, netlink.ErrNotSupported)
}
