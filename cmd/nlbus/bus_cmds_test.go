package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
)

func TestBusCommands(t *testing.T) {
	srv := bustest.NewServer(t, nil)
	sub := srv.Dial(t, &netlink.Config{Groups: []uint32{300}})

	code, out, errOut := run("send", "--socket", srv.Path, "--group", "300", "--data", "hi there")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "sent 8 bytes from port")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := sub.Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, "hi there", string(msgs[0].Data))
	assert.Equal(t, netlink.HeaderType(bus.TypeData), msgs[0].Header.Type)

	code, _, errOut = run("send", "--socket", srv.Path, "--to", "4242", "--data", "x")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no port 4242 on the bus")

	code, out, errOut = run("ports", "--socket", srv.Path, "--json")
	require.Equal(t, 0, code, errOut)
	var ports []bus.PortInfo
	require.NoError(t, json.Unmarshal([]byte(out), &ports))
	found := false
	for _, p := range ports {
		if p.Port == sub.PortID() {
			found = true
			assert.Equal(t, []uint32{300}, p.Groups)
			assert.Equal(t, uint64(3), p.Delivered, "the hello, the join ACK and the message")
		}
	}
	assert.True(t, found, out)

	code, out, errOut = run("ports", "--socket", srv.Path)
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, "PORT"), out)

	code, out, errOut = run("stats", "--socket", srv.Path, "--json")
	require.Equal(t, 0, code, errOut)
	var st bus.Stats
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	assert.Equal(t, uint32(bus.Version), st.Version)
	assert.GreaterOrEqual(t, st.Refused, uint64(1))

	code, _, _ = run("send", "--socket", srv.Path)
	assert.Equal(t, 2, code, "send without --to or --group is a usage error")

	code, _, errOut = run("stats", "--socket", srv.Path+".absent")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no bus daemon at "+srv.Path+".absent")
}

func TestListenCount(t *testing.T) {
	srv := bustest.NewServer(t, nil)
	done := make(chan struct{})
	var code int
	var out, errOut string
	go func() {
		defer close(done)
		code, out, errOut = run("listen", "--socket", srv.Path, "--port", "6000", "--count", "1", "--json")
	}()
	pub := srv.Dial(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, err := pub.Execute(ctx, netlink.Message{Header: netlink.Header{Type: 0x30}, Data: []byte("ping"), Addr: netlink.Addr{Port: 6000}})
		if err == nil || !strings.Contains(err.Error(), "no port 6000") {
			break // delivered (the listener does not answer, so the request fails when it exits)
		}
		time.Sleep(10 * time.Millisecond)
	}
	<-done
	require.Equal(t, 0, code, errOut)
	var m messageJSON
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	assert.Equal(t, "ping", m.Data)
	assert.Equal(t, pub.PortID(), m.Port)
}
