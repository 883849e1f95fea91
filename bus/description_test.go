package bus_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/bus/bustest"
)

// A family registers a description with its spec; anyone fetches it by
// name until the family goes.
func TestDescription(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	svc := srv.Dial(t, nil)
	cli := srv.Dial(t, nil)

	desc := []byte("name: described\nprotocol: genetlink\n")
	spec := kvSpec("described")
	spec.Description = desc
	fam, err := bus.RegisterFamily(ctx, svc, spec)
	require.NoError(t, err)
	_, err = bus.RegisterFamily(ctx, svc, kvSpec("plain"))
	require.NoError(t, err)

	got, err := bus.GetDescription(ctx, cli, "described")
	require.NoError(t, err)
	assert.Equal(t, desc, got)

	// By ID, on the wire: the reply names the family.
	msg, err := bus.ControlMessage(bus.CmdGetDescription, 0, func(ae *netlink.AttributeEncoder) {
		ae.Uint16(bus.AttrFamilyID, fam.ID)
	})
	require.NoError(t, err)
	replies, err := cli.Execute(ctx, msg)
	require.NoError(t, err)
	require.Len(t, replies, 1)
	var name string
	var id uint16
	var raw []byte
	cmd, err := bus.ParseControl(replies[0].Data, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case bus.AttrFamilyName:
			name = ad.String()
		case bus.AttrFamilyID:
			id = ad.Uint16()
		case bus.AttrFamilyDescription:
			raw = ad.CopyBytes()
		}
	})
	require.NoError(t, err)
	assert.Equal(t, uint8(bus.CmdGetDescription), cmd)
	assert.Equal(t, "described", name)
	assert.Equal(t, fam.ID, id)
	assert.Equal(t, desc, raw)

	_, err = bus.GetDescription(ctx, cli, "plain")
	require.ErrorIs(t, err, unix.ENOENT)
	assert.Contains(t, err.Error(), `family "plain" has no description`)
	_, err = bus.GetDescription(ctx, cli, "absent")
	require.ErrorIs(t, err, unix.ENOENT)
	assert.Contains(t, err.Error(), `no family "absent" on the bus`)

	// The description goes with the family.
	require.NoError(t, bus.UnregisterFamily(ctx, svc, fam.ID))
	_, err = bus.GetDescription(ctx, cli, "described")
	require.ErrorIs(t, err, unix.ENOENT)
}

// A description above bus.MaxDescription is refused by RegisterFamily, and
// by the daemon when a client sends it anyway.
func TestDescriptionTooBig(t *testing.T) {
	ctx := testCtx(t)
	srv := bustest.NewServer(t, nil)
	c := srv.Dial(t, nil)
	spec := kvSpec("big")
	spec.Description = bytes.Repeat([]byte("#"), bus.MaxDescription+1)
	_, err := bus.RegisterFamily(ctx, c, spec)
	require.ErrorIs(t, err, unix.EMSGSIZE)
	assert.Contains(t, err.Error(), "at most 16384")

	msg, err := bus.ControlMessage(bus.CmdNewFamily, 0, func(ae *netlink.AttributeEncoder) {
		ae.String(bus.AttrFamilyName, "big")
		ae.Raw(bus.AttrFamilyDescription, spec.Description)
	})
	require.NoError(t, err)
	_, err = c.Execute(ctx, msg)
	require.ErrorIs(t, err, unix.EMSGSIZE)
	assert.Contains(t, err.Error(), "description of 16385 bytes")

	spec.Description = spec.Description[:bus.MaxDescription]
	_, err = bus.RegisterFamily(ctx, c, spec)
	require.NoError(t, err, "exactly MaxDescription fits")
	got, err := bus.GetDescription(ctx, c, "big")
	require.NoError(t, err)
	assert.Len(t, got, bus.MaxDescription)
}
