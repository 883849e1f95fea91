package compat

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOSString(t *testing.T) {
	tests := []struct {
		os   OS
		want string
	}{
		{Linux, "linux"},
		{FreeBSD, "freebsd"},
		{Other, "other"},
		{OS(200), "other"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.os.String())
		})
	}
}

func TestOSFromGOOS(t *testing.T) {
	tests := []struct {
		goos string
		want OS
	}{
		{"linux", Linux},
		{"android", Linux},
		{"freebsd", FreeBSD},
		{"darwin", Other},
		{"openbsd", Other},
		{"windows", Other},
	}
	for _, tt := range tests {
		t.Run(tt.goos, func(t *testing.T) {
			assert.Equal(t, tt.want, osFromGOOS(tt.goos))
		})
	}
	assert.Equal(t, osFromGOOS(runtime.GOOS), Current())
	assert.Equal(t, FactsFor(Current()), Host())
}

func TestFactsFor(t *testing.T) {
	tests := []struct {
		os   OS
		want Facts
	}{
		{Linux, Facts{
			OS: Linux, AFNetlink: 16, AFInet: 2, AFInet6: 10,
			RTTableMain: 254, RTTableUnspec: 0, RTProtMRT: 10,
			ErrnoNegative: true, DoneHasMulti: true, ConnectAllowed: true, AutoBindOnSend: true,
			RTAViaFamilyWidth: 2, MaxSendSize: 0,
		}},
		{FreeBSD, Facts{
			OS: FreeBSD, AFNetlink: 38, AFInet: 2, AFInet6: 28,
			RTTableMain: 0, RTTableUnspec: 0xFFFFFFFF, RTProtMRT: 1,
			ErrnoNegative: false, DoneHasMulti: false, ConnectAllowed: false, AutoBindOnSend: false,
			RTAViaFamilyWidth: 1, MaxSendSize: 65536,
		}},
		{Other, Facts{OS: Other}},
	}
	for _, tt := range tests {
		t.Run(tt.os.String(), func(t *testing.T) {
			f := FactsFor(tt.os)
			assert.Equal(t, tt.want, f)
			// The behavioural facts agree with the capability table.
			assert.Equal(t, f.ConnectAllowed, Supports(tt.os, CapConnect))
			assert.Equal(t, f.AutoBindOnSend, Supports(tt.os, CapAutoBind))
		})
	}
}
