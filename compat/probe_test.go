package compat

import (
	"encoding/binary"
	"errors"
	"syscall"
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
	// reply answers a request (nil: a policy message); reqErr fails it.
	reply  []byte
	reqErr error
	nextFD int
	live   map[int]bool
}

// fakeNotSupp is the errno the fake kernel reports a missing command with.
const fakeNotSupp = syscall.Errno(45)

func (f *fakeProbeOps) request(fd int, req []byte) ([]byte, error) {
	if !f.live[fd] {
		return nil, errors.New("fake: bad fd")
	}
	if f.reqErr != nil {
		return nil, f.reqErr
	}
	if f.reply != nil {
		return f.reply, nil
	}
	return reply(16, 0), nil // a policy message (GENL_ID_CTRL)
}

// reply is a netlink message of type typ whose first payload word is code.
func reply(typ uint16, code int32) []byte {
	b := make([]byte, 36)
	binary.NativeEndian.PutUint32(b, uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint32(b[16:], uint32(code))
	return b
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
	return errors.Is(err, errFakeNoProto) || errors.Is(err, errFakeNoOpt) || errors.Is(err, fakeNotSupp)
}

func TestRunProbe(t *testing.T) {
	// "supported", "unsupported" (wraps ErrNotSupported) or "error".
	type want map[Capability]string
	tests := []struct {
		name    string
		openErr map[int]error
		optErr  map[int]error
		reply   []byte
		reqErr  error
		want    want
	}{
		{
			name: "everything",
			want: want{
				Protocol(NetlinkRoute): "supported", Protocol(NetlinkGeneric): "supported",
				Protocol(NetlinkUsersock): "supported",
				SockOpt(NetlinkExtAck):    "supported", SockOpt(NetlinkCapAck): "supported",
				SockOpt(NetlinkGetStrictChk): "supported", SockOpt(NetlinkNoENOBUFS): "supported",
				SockOpt(NetlinkBroadcastError): "supported", SockOpt(NetlinkMsgInfo): "supported",
				CtrlCmd(ctrlGetPolicy): "supported",
			},
		},
		{
			name:    "freebsd-like",
			openErr: map[int]error{NetlinkUsersock: errFakeNoProto},
			optErr:  map[int]error{NetlinkNoENOBUFS: errFakeNoOpt, NetlinkBroadcastError: errFakeNoOpt},
			reply:   reply(2, int32(fakeNotSupp)), // NLMSG_ERROR, positive errno
			want: want{
				Protocol(NetlinkRoute): "supported", Protocol(NetlinkGeneric): "supported",
				Protocol(NetlinkUsersock): "unsupported",
				SockOpt(NetlinkExtAck):    "supported", SockOpt(NetlinkCapAck): "supported",
				SockOpt(NetlinkGetStrictChk): "supported", SockOpt(NetlinkNoENOBUFS): "unsupported",
				SockOpt(NetlinkBroadcastError): "unsupported", SockOpt(NetlinkMsgInfo): "supported",
				CtrlCmd(ctrlGetPolicy): "unsupported",
			},
		},
		{
			name:    "freebsd before NETLINK_MSG_INFO",
			openErr: map[int]error{NetlinkUsersock: errFakeNoProto},
			optErr:  map[int]error{NetlinkNoENOBUFS: errFakeNoOpt, NetlinkBroadcastError: errFakeNoOpt, NetlinkMsgInfo: errFakeNoOpt},
			reply:   reply(2, -int32(fakeNotSupp)), // the Linux sign
			want: want{
				Protocol(NetlinkRoute): "supported", Protocol(NetlinkGeneric): "supported",
				Protocol(NetlinkUsersock): "unsupported",
				SockOpt(NetlinkExtAck):    "supported", SockOpt(NetlinkCapAck): "supported",
				SockOpt(NetlinkGetStrictChk): "supported", SockOpt(NetlinkNoENOBUFS): "unsupported",
				SockOpt(NetlinkBroadcastError): "unsupported", SockOpt(NetlinkMsgInfo): "unsupported",
				CtrlCmd(ctrlGetPolicy): "unsupported",
			},
		},
		{
			name:  "an empty policy dump",
			reply: reply(3, 0), // NLMSG_DONE
			want:  want{CtrlCmd(ctrlGetPolicy): "supported"},
		},
		{
			name:   "no reply",
			reqErr: errFakeOther,
			want:   want{CtrlCmd(ctrlGetPolicy): "error", Protocol(NetlinkGeneric): "supported"},
		},
		{
			name:  "garbage reply",
			reply: []byte{1, 2, 3},
			want:  want{CtrlCmd(ctrlGetPolicy): "garbage"},
		},
		{
			name:    "no netlink",
			openErr: map[int]error{NetlinkRoute: errFakeNoProto, NetlinkGeneric: errFakeNoProto, NetlinkUsersock: errFakeNoProto},
			want: want{
				Protocol(NetlinkRoute): "unsupported", Protocol(NetlinkGeneric): "unsupported",
				Protocol(NetlinkUsersock): "unsupported",
				SockOpt(NetlinkExtAck):    "unsupported", SockOpt(NetlinkCapAck): "unsupported",
				SockOpt(NetlinkGetStrictChk): "unsupported", SockOpt(NetlinkNoENOBUFS): "unsupported",
				SockOpt(NetlinkBroadcastError): "unsupported", SockOpt(NetlinkMsgInfo): "unsupported",
				CtrlCmd(ctrlGetPolicy): "unsupported",
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
				SockOpt(NetlinkBroadcastError): "unsupported", SockOpt(NetlinkMsgInfo): "unsupported",
				CtrlCmd(ctrlGetPolicy): "unsupported",
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
				SockOpt(NetlinkBroadcastError): "error", SockOpt(NetlinkMsgInfo): "error",
				CtrlCmd(ctrlGetPolicy): "supported",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := &fakeProbeOps{openErr: tt.openErr, optErr: tt.optErr, reply: tt.reply, reqErr: tt.reqErr}
			r := runProbe(FreeBSD, "freebsd", "arm64", ops)
			assert.Empty(t, ops.live, "every socket is closed")
			assert.Equal(t, FreeBSD, r.OS)
			require.Len(t, r.Protocols, 3)
			require.Len(t, r.Options, 6)
			require.Len(t, r.Ctrl, 1)

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
				case "garbage":
					require.ErrorIs(t, res.Err, errShortReply, c.String())
					assert.NotErrorIs(t, res.Err, ErrNotSupported, c.String())
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

func TestGetPolicyRequestLayout(t *testing.T) {
	b := getPolicyRequest()
	ne := binary.NativeEndian
	require.Len(t, b, 32)
	assert.Equal(t, uint32(32), ne.Uint32(b), "nlmsg_len")
	assert.Equal(t, uint16(16), ne.Uint16(b[4:]), "GENL_ID_CTRL")
	assert.Equal(t, uint16(0x301), ne.Uint16(b[6:]), "NLM_F_REQUEST|NLM_F_DUMP")
	assert.Equal(t, []byte{ctrlGetPolicy, 1, 0, 0}, b[16:20], "genlmsghdr")
	assert.Equal(t, uint16(11), ne.Uint16(b[20:]), "nla_len")
	assert.Equal(t, uint16(2), ne.Uint16(b[22:]), "CTRL_ATTR_FAMILY_NAME")
	assert.Equal(t, "nlctrl\x00\x00", string(b[24:]), "NUL-terminated, padded")
}

func TestReplyErrno(t *testing.T) {
	truncated := reply(2, -95)
	binary.NativeEndian.PutUint32(truncated, 100)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{name: "linux sign", b: reply(2, -95), want: syscall.Errno(95)},
		{name: "freebsd sign", b: reply(2, 45), want: syscall.Errno(45)},
		{name: "ack", b: reply(2, 0)},
		{name: "done", b: reply(3, 0)},
		{name: "done with an error", b: reply(3, -2), want: syscall.Errno(2)},
		{name: "policy", b: reply(16, 0)},
		{name: "short", b: []byte{1, 2, 3}, want: errShortReply},
		{name: "length beyond the datagram", b: truncated, want: errShortReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := replyErrno(tt.b)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

// Only what changes between releases escapes the static table's assertion.
func TestReleaseDependent(t *testing.T) {
	tests := []struct {
		os   OS
		c    Capability
		want bool
	}{
		{FreeBSD, SockOpt(NetlinkMsgInfo), true},
		{FreeBSD, CtrlCmd(ctrlGetPolicy), true},
		{FreeBSD, CtrlCmd(3), false},
		{FreeBSD, SockOpt(NetlinkExtAck), false},
		{Linux, SockOpt(NetlinkMsgInfo), false},
		{Linux, CtrlCmd(ctrlGetPolicy), false},
	}
	for _, tt := range tests {
		t.Run(tt.os.String()+" "+tt.c.String(), func(t *testing.T) {
			assert.Equal(t, tt.want, releaseDependent(tt.os, tt.c))
		})
	}
}
