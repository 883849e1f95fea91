package compat

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLinkTypeOf(t *testing.T) {
	tests := []struct {
		os   OS
		raw  uint16
		want LinkType
	}{
		{Linux, 1, LinkEther},
		{Linux, 772, LinkLoopback},
		{Linux, 768, LinkTunnel},
		{Linux, 778, LinkGRE},
		{Linux, 0xFFFE, LinkNone},
		{Linux, 6, LinkOther},
		{Linux, 0xFFFF, LinkOther},
		{FreeBSD, 6, LinkEther},
		{FreeBSD, 24, LinkLoopback},
		{FreeBSD, 55, LinkTunnel},
		{FreeBSD, 0x83, LinkGRE},
		{FreeBSD, 135, LinkVLAN},
		{FreeBSD, 209, LinkBridge},
		{FreeBSD, 53, LinkPropVirtual},
		{FreeBSD, 1, LinkOther},
		{FreeBSD, 772, LinkOther},
		{Other, 1, LinkOther},
		{Other, 6, LinkOther},
	}
	for _, tt := range tests {
		t.Run(tt.os.String()+"/"+tt.want.String(), func(t *testing.T) {
			assert.Equal(t, tt.want, FactsFor(tt.os).LinkTypeOf(tt.raw))
		})
	}
}

func TestRawLinkType(t *testing.T) {
	all := []LinkType{LinkOther, LinkEther, LinkLoopback, LinkTunnel, LinkGRE,
		LinkVLAN, LinkBridge, LinkNone, LinkPropVirtual}
	tests := []struct {
		os     OS
		t      LinkType
		want   uint16
		wantOK bool
	}{
		{Linux, LinkEther, ArphrdEther, true},
		{Linux, LinkVLAN, ArphrdEther, true},
		{Linux, LinkBridge, ArphrdEther, true},
		{Linux, LinkLoopback, ArphrdLoopback, true},
		{Linux, LinkTunnel, ArphrdTunnel, true},
		{Linux, LinkGRE, ArphrdIPGRE, true},
		{Linux, LinkNone, ArphrdNone, true},
		{Linux, LinkPropVirtual, 0, false},
		{Linux, LinkOther, 0, false},
		{FreeBSD, LinkOther, IftOther, true},
		{FreeBSD, LinkEther, IftEther, true},
		{FreeBSD, LinkLoopback, IftLoop, true},
		{FreeBSD, LinkTunnel, IftGIF, true},
		{FreeBSD, LinkGRE, IftTunnel, true},
		{FreeBSD, LinkVLAN, IftL2VLAN, true},
		{FreeBSD, LinkBridge, IftBridge, true},
		{FreeBSD, LinkPropVirtual, IftPropVirtual, true},
		{FreeBSD, LinkNone, 0, false},
		{Other, LinkEther, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.os.String()+"/"+tt.t.String(), func(t *testing.T) {
			raw, ok := FactsFor(tt.os).RawLinkType(tt.t)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, raw)
		})
	}

	// Round trip: whenever an OS has a code for a type, decoding it gives
	// the type back, except Linux VLAN/bridge which are Ethernet there.
	for _, o := range []OS{Linux, FreeBSD} {
		f := FactsFor(o)
		for _, lt := range all {
			raw, ok := f.RawLinkType(lt)
			if !ok {
				continue
			}
			got := f.LinkTypeOf(raw)
			if o == Linux && (lt == LinkVLAN || lt == LinkBridge) {
				assert.Equal(t, LinkEther, got)
				continue
			}
			assert.Equal(t, lt, got, "%s %s", o, lt)
		}
	}
}

func TestLinkTypeString(t *testing.T) {
	assert.Equal(t, "ether", LinkEther.String())
	assert.Equal(t, "other", LinkOther.String())
	assert.Equal(t, "other", LinkType(250).String())
}
