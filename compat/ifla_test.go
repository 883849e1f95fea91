package compat

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIFLA(t *testing.T) {
	tests := []struct {
		name    string
		linux   int // -1: absent
		freebsd int
	}{
		{"IFLA_UNSPEC", 0, 0},
		{"IFLA_IFNAME", 3, 3},
		{"IFLA_MTU", 4, 4},
		{"IFLA_TARGET_NETNSID", 46, 46},
		{"IFLA_GRO_MAX_SIZE", 58, 58},
		{"IFLA_TSO_MAX_SIZE", 59, -1},
		{"IFLA_TSO_MAX_SEGS", 60, 59},
		{"IFLA_ALLMULTI", 61, 60},
		{"IFLA_DEVLINK_PORT", 62, 61},
		{"IFLA_GSO_IPV4_MAX_SIZE", 63, 62},
		{"IFLA_GRO_IPV4_MAX_SIZE", 64, 63},
		{"IFLA_FREEBSD", -1, 64},
		{"IFLA_DPLL_PIN", 65, -1},
		{"IFLA_NO_SUCH_THING", -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				os   OS
				want int
			}{{Linux, tt.linux}, {FreeBSD, tt.freebsd}, {Other, -1}} {
				v, ok := FactsFor(c.os).IFLA(tt.name)
				if c.want < 0 {
					assert.False(t, ok, c.os.String())
					continue
				}
				assert.True(t, ok, c.os.String())
				assert.Equal(t, uint16(c.want), v, c.os.String())
			}
		})
	}
}

func TestIFLAName(t *testing.T) {
	tests := []struct {
		os   OS
		v    uint16
		want string
	}{
		{Linux, 46, "IFLA_IF_NETNSID"},
		{Linux, 59, "IFLA_TSO_MAX_SIZE"},
		{Linux, 64, "IFLA_GRO_IPV4_MAX_SIZE"},
		{FreeBSD, 59, "IFLA_TSO_MAX_SEGS"},
		{FreeBSD, 64, "IFLA_FREEBSD"},
		{FreeBSD, 65, ""},
		{Linux, 1000, ""},
		{Other, 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.os.String()+"/"+tt.want, func(t *testing.T) {
			name, ok := FactsFor(tt.os).IFLAName(tt.v)
			assert.Equal(t, tt.want != "", ok)
			assert.Equal(t, tt.want, name)
		})
	}
}

func TestIFLAFromLinux(t *testing.T) {
	bsd := FactsFor(FreeBSD)
	for v := uint16(0); v <= IFLACommonMax; v++ {
		got, ok := bsd.IFLAFromLinux(v)
		assert.True(t, ok, "%d", v)
		assert.Equal(t, v, got, "values up to IFLACommonMax are shared")
	}
	_, ok := bsd.IFLAFromLinux(59) // IFLA_TSO_MAX_SIZE
	assert.False(t, ok)
	got, ok := bsd.IFLAFromLinux(61) // IFLA_ALLMULTI
	assert.True(t, ok)
	assert.Equal(t, uint16(60), got)

	lin := FactsFor(Linux)
	got, ok = lin.IFLAFromLinux(61)
	assert.True(t, ok)
	assert.Equal(t, uint16(61), got)
	_, ok = lin.IFLAFromLinux(9999)
	assert.False(t, ok)
}
