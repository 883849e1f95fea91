package compat

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLimitsFor(t *testing.T) {
	tests := []struct {
		os   OS
		want Limits
	}{
		{Linux, Limits{BindGroups: 32}},
		{FreeBSD, Limits{MaxGroups: 128, ListMembershipsGroups: 32, BindGroups: 32,
			GenlMaxFamilies: 20, GenlMaxGroups: 64, GenlGroupIDBase: 48}},
		{Other, Limits{}},
	}
	for _, tt := range tests {
		t.Run(tt.os.String(), func(t *testing.T) {
			assert.Equal(t, tt.want, LimitsFor(tt.os))
		})
	}
}

func TestValidGroup(t *testing.T) {
	tests := []struct {
		os   OS
		g    uint32
		want bool
	}{
		{Linux, 0, false},
		{Linux, 1, true},
		{Linux, 1000, true},
		{FreeBSD, 0, false},
		{FreeBSD, 1, true},
		{FreeBSD, 48, true},
		{FreeBSD, 127, true},
		{FreeBSD, 128, false},
	}
	for _, tt := range tests {
		t.Run(tt.os.String(), func(t *testing.T) {
			assert.Equal(t, tt.want, LimitsFor(tt.os).ValidGroup(tt.g), "group %d", tt.g)
		})
	}
}
