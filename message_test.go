package netlink_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
)

var ne = binary.NativeEndian

// rawMessage builds a message header by hand, with any length field.
func rawMessage(length uint32, typ netlink.HeaderType, payload ...byte) []byte {
	b := make([]byte, netlink.HeaderLen, netlink.HeaderLen+len(payload))
	netlink.MarshalHeader(b, netlink.Header{Length: length, Type: typ, Sequence: 1, PID: 2})
	return append(b, payload...)
}

func TestHeaderRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		h    netlink.Header
	}{
		{name: "zero"},
		{name: "request", h: netlink.Header{Length: 20, Type: 18, Flags: netlink.Request | netlink.Dump, Sequence: 7, PID: 42}},
		{name: "max", h: netlink.Header{Length: ^uint32(0), Type: ^netlink.HeaderType(0), Flags: ^netlink.HeaderFlags(0), Sequence: ^uint32(0), PID: ^uint32(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := make([]byte, netlink.HeaderLen)
			netlink.MarshalHeader(b, tt.h)
			got, err := netlink.ParseHeader(b)
			require.NoError(t, err)
			assert.Equal(t, tt.h, got)
			assert.Equal(t, tt.h.Length, ne.Uint32(b), "host byte order")
		})
	}
	_, err := netlink.ParseHeader(make([]byte, netlink.HeaderLen-1))
	require.ErrorIs(t, err, netlink.ErrShortMessage)
}

func TestMessageRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		m    netlink.Message
		size int
	}{
		{name: "empty", m: netlink.Message{Header: netlink.Header{Type: netlink.Noop}}, size: 16},
		{name: "aligned", m: netlink.Message{Header: netlink.Header{Type: 16, Flags: netlink.Request, Sequence: 3}, Data: []byte{1, 2, 3, 4}}, size: 20},
		{name: "padded", m: netlink.Message{Header: netlink.Header{Type: 16, Sequence: 4, PID: 9}, Data: []byte{1, 2, 3, 4, 5}}, size: 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.m.MarshalBinary()
			require.NoError(t, err)
			require.Len(t, b, tt.size)
			assert.Equal(t, uint32(netlink.HeaderLen+len(tt.m.Data)), ne.Uint32(b))
			for _, p := range b[netlink.HeaderLen+len(tt.m.Data):] {
				assert.Zero(t, p, "padding is zeroed")
			}

			var got netlink.Message
			require.NoError(t, got.UnmarshalBinary(b))
			want := tt.m
			want.Header.Length = uint32(netlink.HeaderLen + len(tt.m.Data))
			assert.Equal(t, want.Header, got.Header)
			assert.Equal(t, len(want.Data), len(got.Data))
			if len(want.Data) > 0 {
				assert.Equal(t, want.Data, got.Data)
				b[netlink.HeaderLen] ^= 0xff
				assert.Equal(t, want.Data[0], got.Data[0], "UnmarshalBinary copies")
			}
		})
	}
}

func TestUnmarshalBinaryErrors(t *testing.T) {
	one, err := netlink.Message{Header: netlink.Header{Type: 16}}.MarshalBinary()
	require.NoError(t, err)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{name: "empty", b: nil, want: netlink.ErrShortMessage},
		{name: "short", b: one[:10], want: netlink.ErrShortMessage},
		{name: "past-buffer", b: rawMessage(32, 16), want: netlink.ErrMessageLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m netlink.Message
			require.ErrorIs(t, m.UnmarshalBinary(tt.b), tt.want)
		})
	}
	t.Run("trailing", func(t *testing.T) {
		var m netlink.Message
		require.Error(t, m.UnmarshalBinary(append(one, one...)))
	})
}

func TestAppendMessageReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 64)
	b, err := netlink.AppendMessage(buf, netlink.Message{Data: []byte{1}})
	require.NoError(t, err)
	b, err = netlink.AppendMessage(b, netlink.Message{Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}})
	require.NoError(t, err)
	assert.Len(t, b, 20+24)
	assert.Same(t, &buf[:1][0], &b[0])

	_, err = netlink.AppendMessage(nil, netlink.Message{Data: make([]byte, 1<<24)})
	require.Error(t, err)
}

func TestParseMessages(t *testing.T) {
	var b []byte
	var want []netlink.Message
	for i := range 5 {
		m := netlink.Message{
			Header: netlink.Header{Type: netlink.HeaderType(16 + i), Flags: netlink.Multi, Sequence: uint32(i), PID: 7},
			Data:   make([]byte, i*3),
		}
		for j := range m.Data {
			m.Data[j] = byte(i + j)
		}
		var err error
		b, err = netlink.AppendMessage(b, m)
		require.NoError(t, err)
		m.Header.Length = uint32(netlink.HeaderLen + len(m.Data))
		want = append(want, m)
	}
	got, err := netlink.ParseMessages(b)
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].Header, got[i].Header)
		assert.Equal(t, len(want[i].Data), len(got[i].Data))
		assert.Equal(t, cap(got[i].Data), len(got[i].Data), "Data is capped at the message end")
		if len(want[i].Data) > 0 {
			assert.Equal(t, want[i].Data, got[i].Data)
		}
	}

	t.Run("unpadded-last", func(t *testing.T) {
		last := rawMessage(17, 16, 0xaa)
		got, err := netlink.ParseMessages(append(append([]byte(nil), b...), last...))
		require.NoError(t, err)
		require.Len(t, got, 6)
		assert.Equal(t, []byte{0xaa}, got[5].Data)
	})
}

func TestMessageIterMalformed(t *testing.T) {
	good := rawMessage(20, 16, 1, 2, 3, 4)
	tests := []struct {
		name   string
		b      []byte
		want   error
		before int // messages parsed before the error
	}{
		{name: "zero-length", b: rawMessage(0, 16), want: netlink.ErrShortMessage},
		{name: "length-below-header", b: rawMessage(15, 16), want: netlink.ErrShortMessage},
		{name: "length-past-buffer", b: rawMessage(21, 16, 1, 2, 3, 4), want: netlink.ErrMessageLength},
		{name: "huge-length", b: rawMessage(^uint32(0), 16), want: netlink.ErrMessageLength},
		{name: "short-header", b: []byte{16, 0, 0, 0, 1}, want: netlink.ErrShortMessage},
		{name: "zero-length-after-good", b: append(append([]byte(nil), good...), rawMessage(0, 16)...), want: netlink.ErrShortMessage, before: 1},
		{name: "trailing-garbage", b: append(append([]byte(nil), good...), 1, 2, 3), want: netlink.ErrShortMessage, before: 1},
		{name: "all-zero", b: make([]byte, 64), want: netlink.ErrShortMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var it netlink.MessageIter
			it.Reset(tt.b)
			n := 0
			for it.Next() {
				n++
				require.LessOrEqual(t, n, len(tt.b)/netlink.HeaderLen, "iteration must end")
			}
			require.ErrorIs(t, it.Err(), tt.want)
			assert.Equal(t, tt.before, n)
			assert.False(t, it.Next(), "an error is sticky")

			msgs, err := netlink.ParseMessages(tt.b)
			require.ErrorIs(t, err, tt.want)
			assert.Len(t, msgs, tt.before)
		})
	}
}

func TestMessageIterOffsetAndRest(t *testing.T) {
	b := append(rawMessage(17, 16, 9, 0, 0, 0), rawMessage(16, 17)...)
	var it netlink.MessageIter
	it.Reset(b)
	require.True(t, it.Next())
	assert.Equal(t, 20, it.Offset())
	assert.Len(t, it.Rest(), 16)
	assert.Equal(t, []byte{9}, it.Message().Data)
	require.True(t, it.Next())
	assert.Equal(t, netlink.HeaderType(17), it.Message().Header.Type)
	assert.False(t, it.Next())
	require.NoError(t, it.Err())
	assert.Empty(t, it.Rest())
}

// Header and Data agree with Message field for field, wherever the buffer
// starts (the header is read as one 16-byte copy), and say nothing before
// the first Next.
func TestMessageIterHeaderData(t *testing.T) {
	var b []byte
	for i, m := range []netlink.Message{
		{Header: netlink.Header{Type: 24, Flags: netlink.Multi | netlink.DumpInterrupted, Sequence: 0xdeadbeef, PID: 0x01020304}, Data: []byte{1, 2, 3, 4, 5}},
		{Header: netlink.Header{Type: netlink.Done, Sequence: 7}},
		{Header: netlink.Header{Type: 0xffff, Flags: 0xffff, Sequence: 0xffffffff, PID: 0xffffffff}, Data: make([]byte, 300)},
	} {
		m.Data = append([]byte(nil), m.Data...)
		if len(m.Data) > 0 {
			m.Data[0] = byte(i)
		}
		var err error
		b, err = netlink.AppendMessage(b, m)
		require.NoError(t, err)
	}
	for shift := range 4 {
		buf := append(make([]byte, shift), b...)[shift:]
		var it netlink.MessageIter
		it.Reset(buf)
		assert.Equal(t, netlink.Header{}, it.Header())
		assert.Nil(t, it.Data())
		n := 0
		for it.Next() {
			m := it.Message()
			assert.Equal(t, m.Header, it.Header(), "shift %d message %d", shift, n)
			assert.Equal(t, m.Data, it.Data(), "shift %d message %d", shift, n)
			n++
		}
		require.NoError(t, it.Err())
		assert.Equal(t, 3, n)
		assert.Equal(t, netlink.Header{}, it.Header(), "after the end")
	}
}

// Message is borrowed: one Message owned by the iterator, rewritten whole
// by each call, so a field a caller changed does not leak into the next
// message, and a copy taken with *m keeps its values.
func TestMessageIterMessageBorrowed(t *testing.T) {
	var it netlink.MessageIter
	assert.Equal(t, netlink.Message{}, *it.Message(), "before Reset")
	b := append(rawMessage(17, 16, 9, 0, 0, 0), rawMessage(16, 18)...)
	it.Reset(b)
	require.True(t, it.Next())
	m := it.Message()
	kept := *m
	m.Addr = netlink.Addr{Port: 5, Group: 3}
	m.Creds = &netlink.Credentials{PID: 1}
	m.Header.Type = 99
	again := it.Message()
	assert.Same(t, m, again)
	assert.Equal(t, kept, *again, "a second call rebuilds the message")
	require.True(t, it.Next())
	assert.Equal(t, netlink.HeaderType(18), it.Message().Header.Type)
	assert.Equal(t, netlink.HeaderType(16), kept.Header.Type, "a copy is the caller's")
	assert.Equal(t, []byte{9}, kept.Data)
	assert.False(t, it.Next())
	assert.Equal(t, netlink.Message{}, *it.Message(), "after the end")
}

func TestHeaderTypeString(t *testing.T) {
	tests := []struct {
		t    netlink.HeaderType
		want string
	}{
		{netlink.Noop, "noop"},
		{netlink.Error, "error"},
		{netlink.Done, "done"},
		{netlink.Overrun, "overrun"},
		{0, "type(0)"},
		{netlink.MinType, "type(16)"},
		{0xffff, "type(65535)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.t.String())
		})
	}
}

func TestHeaderFlagsString(t *testing.T) {
	tests := []struct {
		f    netlink.HeaderFlags
		want string
	}{
		{0, "0"},
		{netlink.Request, "request"},
		{netlink.Request | netlink.Acknowledge, "request|ack"},
		{netlink.Request | netlink.Dump, "request|dump"},
		{netlink.Multi | netlink.DumpInterrupted, "multi|dump-interrupted"},
		{netlink.Echo | netlink.DumpFiltered, "echo|dump-filtered"},
		{netlink.Root, "0x100"},
		{netlink.Request | netlink.Create | netlink.Excl, "request|0x600"},
		{netlink.Dump | netlink.Atomic, "dump|0x400"},
		{0x8000 | netlink.Multi, "multi|0x8000"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.f.String())
		})
	}
}

func TestAlign(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 4, 3: 4, 4: 4, 5: 8, 16: 16, 17: 20} {
		assert.Equal(t, want, netlink.Align(n), "Align(%d)", n)
	}
}

// UnmarshalBinary replaces the whole Message: an Addr or Creds left from an
// earlier use do not survive it.
func TestUnmarshalBinaryReplacesAll(t *testing.T) {
	m := netlink.Message{Addr: netlink.Addr{Port: 9}, Creds: &netlink.Credentials{PID: 1}}
	require.NoError(t, m.UnmarshalBinary(rawMessage(17, 16, 7)))
	assert.Equal(t, netlink.Message{Header: netlink.Header{Length: 17, Type: 16, Sequence: 1, PID: 2}, Data: []byte{7}}, m)
}
