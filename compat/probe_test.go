package compat

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	errFakeNoProto = errors.New("fake: protocol not supported")
	errFakeNoOpt   = errors.New("fake: option not supported")
	errFakeOther   = errors.New("fake: too many open files")
)

// fakeProbeOps simulates a kernel: openErr and optErr hold failures by
// protocol and option; it records open and closed fds.
type fakeProbeOps struct {
	openErr map[int]error
	optErr  map[int]error
	nextFD  int
	live    map[int]bool
}

func (f *fakeProbeOps) open(proto int) (int, error) {
	if err := f.openErr[proto]; err != nil {
		return -1, err
	}
	f.nextFD++
	if f.live == nil {
		f.live = map[int]bool{}
	}
	f.live[f.nextFD] = true
	return f.nextFD, nil
}

func (f *fakeProbeOps) setBool(fd, opt int) error {
	if !f.live[fd] {
		return errors.New("fake: bad fd")
	}
	return f.optErr[opt]
}

func (f *fakeProbeOps) close(fd int) error {
	delete(f.live, fd)
	return nil
}

func (f *fakeProbeOps) unsupported(err error) bool {
	return errors.Is(err, errFakeNoProto) || errors.Is(err, errFakeNoOpt)
}

func TestRunProbe(t *testing.T) {
	// "supported", "unsupported" (wraps ErrNotSupported) or "error".
	type want map[Capability]string
	tests := []struct {
		name    string
		openErr map[int]error
		optErr  map[int]error
		want    want
	}{
		{
			name: "everything",
			want: want{
				Protocol(NetlinkRoute): "supported", Protocol(NetlinkGeneric): "supported",
				Protocol(NetlinkUsersock): "supported",
				SockOpt(NetlinkExtAck):    "supported", SockOpt(NetlinkCapAck): "supported",
				SockOpt(NetlinkGetStrictChk): "supported", SockOpt(NetlinkNoENOBUFS): "supported",
				SockOpt(NetlinkBroadcastError): "supported",
			},
		},
		{
			name:    "freebsd-like",
			openErr: map[int]error{NetlinkUsersock: errFakeNoProto},
			optErr:  map[int]error{NetlinkNoENOBUFS: errFakeNoOpt, NetlinkBroadcastError: errFakeNoOpt},
			want: want{
				Protocol(NetlinkRoute): "supported", Protocol(NetlinkGeneric): "supported",
				Protocol(NetlinkUsersock): "unsupported",
				SockOpt(NetlinkExtAck):    "supported", SockOpt(NetlinkCapAck): "supported",
				SockOpt(NetlinkGetStrictChk): "supported", SockOpt(NetlinkNoENOBUFS): "unsupported",
				SockOpt(NetlinkBroadcastError): "unsupported",
			},
		},
		{
			name:    "no netlink",
			openErr: map[int]error{NetlinkRoute: errFakeNoProto, NetlinkGeneric: errFakeNoProto, NetlinkUsersock: errFakeNoProto},
			want: want{
				Protocol(NetlinkRoute): "unsupported", Protocol(NetlinkGeneric): "unsupported",
				Protocol(NetlinkUsersock): "unsupported",
				SockOpt(NetlinkExtAck):    "unsupported", SockOpt(NetlinkCapAck): "unsupported",
				SockOpt(NetlinkGetStrictChk): "unsupported", SockOpt(NetlinkNoENOBUFS): "unsupported",
				SockOpt(NetlinkBroadcastError): "unsupported",
			},
		},
		{
			name:    "os stub",
			openErr: map[int]error{NetlinkRoute: ErrNotSupported, NetlinkGeneric: ErrNotSupported, NetlinkUsersock: ErrNotSupported},
			want: want{
				Protocol(NetlinkRoute): "unsupported", Protocol(NetlinkGeneric): "unsupported",
				Protocol(NetlinkUsersock): "unsupported",
				SockOpt(NetlinkExtAck):    "unsupported", SockOpt(NetlinkCapAck): "unsupported",
				SockOpt(NetlinkGetStrictChk): "unsupported", SockOpt(NetlinkNoENOBUFS): "unsupported",
				SockOpt(NetlinkBroadcastError): "unsupported",
			},
		},
		{
			name:    "route socket fails for another reason",
			openErr: map[int]error{NetlinkRoute: errFakeOther},
			want: want{
				Protocol(NetlinkRoute): "error", Protocol(NetlinkGeneric): "supported",
				Protocol(NetlinkUsersock): "supported",
				SockOpt(NetlinkExtAck):    "error", SockOpt(NetlinkCapAck): "error",
				SockOpt(NetlinkGetStrictChk): "error", SockOpt(NetlinkNoENOBUFS): "error",
				SockOpt(NetlinkBroadcastError): "error",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := &fakeProbeOps{openErr: tt.openErr, optErr: tt.optErr}
			r := runProbe(FreeBSD, "freebsd", "arm64", ops)
			assert.Empty(t, ops.live, "every socket is closed")
			assert.Equal(t, FreeBSD, r.OS)
			require.Len(t, r.Protocols, 3)
			require.Len(t, r.Options, 5)

			for c, w := range tt.want {
				res, ok := r.Lookup(c)
				require.True(t, ok, c.String())
				switch w {
				case "supported":
					assert.True(t, res.Supported(), c.String())
					assert.NoError(t, res.Err)
				case "unsupported":
					assert.False(t, res.Supported(), c.String())
					require.ErrorIs(t, res.Err, ErrNotSupported, c.String())
					assert.Contains(t, res.Err.Error(), c.String()+" on freebsd/arm64")
				case "error":
					require.Error(t, res.Err, c.String())
					assert.NotErrorIs(t, res.Err, ErrNotSupported, c.String())
					require.ErrorIs(t, res.Err, errFakeOther, c.String())
				}
			}
			s := r.String()
			assert.Contains(t, s, "netlink probe freebsd/arm64 (freebsd):")
			for c := range tt.want {
				assert.Contains(t, s, "  "+c.String()+": ")
			}
		})
	}

	_, ok := runProbe(Linux, "linux", "amd64", &fakeProbeOps{}).Lookup(RouteMsg(16))
	assert.False(t, ok, "message types are not probed")
}
