//go:build linux

package netlink_test

import (
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/internal/nettest"
)

// nfgen returns a struct nfgenmsg for family with res_id (big-endian).
func nfgen(family uint8, resID uint16) []byte {
	return []byte{family, unix.NFNETLINK_V0, byte(resID >> 8), byte(resID)}
}

func nftMsg(typ uint16, flags netlink.HeaderFlags, attrs func(*netlink.AttributeEncoder)) netlink.Message {
	var ae netlink.AttributeEncoder
	attrs(&ae)
	b, err := ae.Bytes()
	if err != nil {
		panic(err)
	}
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | typ), Flags: flags},
		Data:   append(nfgen(unix.NFPROTO_INET, 0), b...),
	}
}

// nftBatch builds BEGIN, a table, a chain, n counter rules (rule bad, if
// not negative, names a chain that does not exist), END.
func nftBatch(n, bad int, flags netlink.HeaderFlags) []netlink.Message {
	delim := func(typ netlink.HeaderType) netlink.Message {
		return netlink.Message{Header: netlink.Header{Type: typ}, Data: nfgen(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)}
	}
	msgs := []netlink.Message{
		delim(unix.NFNL_MSG_BATCH_BEGIN),
		nftMsg(unix.NFT_MSG_NEWTABLE, flags|netlink.Create, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_TABLE_NAME, "t")
		}),
		nftMsg(unix.NFT_MSG_NEWCHAIN, flags|netlink.Create, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_CHAIN_TABLE, "t")
			ae.String(unix.NFTA_CHAIN_NAME, "c")
		}),
	}
	for i := range n {
		chain := "c"
		if i == bad {
			chain = "nochain"
		}
		msgs = append(msgs, nftMsg(unix.NFT_MSG_NEWRULE, flags|netlink.Create|netlink.Append, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_RULE_TABLE, "t")
			ae.String(unix.NFTA_RULE_CHAIN, chain)
			ae.Nested(unix.NFTA_RULE_EXPRESSIONS, func(ae *netlink.AttributeEncoder) error {
				ae.Nested(unix.NFTA_LIST_ELEM, func(ae *netlink.AttributeEncoder) error {
					ae.String(unix.NFTA_EXPR_NAME, "counter")
					return nil
				})
				return nil
			})
		}))
	}
	return append(msgs, delim(unix.NFNL_MSG_BATCH_END))
}

// nftRuleset counts tables, chains and rules as nft -j list ruleset sees them.
func nftRuleset(t *testing.T, ns *nettest.NS) (tables, chains, rules int) {
	t.Helper()
	out := ns.Exec(t, "nft", "-j", "list", "ruleset")
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	require.NoError(t, json.Unmarshal(out, &doc))
	for _, o := range doc.Nftables {
		switch {
		case o["table"] != nil:
			tables++
		case o["chain"] != nil:
			chains++
		case o["rule"] != nil:
			rules++
		}
	}
	return
}

func dialNetfilter(t *testing.T, ns *nettest.NS) *netlink.Conn {
	t.Helper()
	// A netfilter socket and an nf_tables request autoload their modules.
	nettest.RequireModule(t, "nfnetlink", "CONFIG_NETFILTER_NETLINK")
	nettest.RequireModule(t, "nf_tables", "CONFIG_NF_TABLES")
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: ns.FD()})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestKernelNftablesBatch: a table, a chain and 1,000 rules in one batch,
// compared with nft -j list ruleset; a batch whose rule 500 fails reports
// the error against rule 500 and the kernel applies nothing.
func TestKernelNftablesBatch(t *testing.T) {
	ns := nettest.NewNS(t)
	requireTool(t, "nft")
	ctx := testContext(t)

	t.Run("ok", func(t *testing.T) {
		c := dialNetfilter(t, ns)
		msgs := nftBatch(1000, -1, netlink.Acknowledge)
		res, err := c.Batch(ctx, msgs, &netlink.BatchOptions{OneDatagram: true})
		require.NoError(t, err)
		require.Len(t, res, len(msgs))
		for i, r := range res[1 : len(res)-1] {
			require.NoError(t, r.Err, "message %d", i+1)
			assert.True(t, r.Ack.Received, "message %d acknowledged", i+1)
		}
		tables, chains, rules := nftRuleset(t, ns)
		assert.Equal(t, 1, tables)
		assert.Equal(t, 1, chains)
		assert.Equal(t, 1000, rules)
		ns.Exec(t, "nft", "flush", "ruleset")
	})

	t.Run("rule-500-fails", func(t *testing.T) {
		c := dialNetfilter(t, ns)
		msgs := nftBatch(1000, 499, 0) // rule 500 is message 3+499
		res, err := c.Batch(ctx, msgs, &netlink.BatchOptions{OneDatagram: true})
		require.ErrorIs(t, err, unix.ENOENT)
		bad := 3 + 499
		for i, r := range res {
			if i == bad {
				require.ErrorIs(t, r.Err, unix.ENOENT)
				var oe *netlink.OpError
				require.ErrorAs(t, r.Err, &oe)
				assert.Equal(t, r.Header.Sequence, oe.Sequence)
				assert.Zero(t, msgs[i].Header.Sequence, "the caller's message is left as it was")
				continue
			}
			assert.NoError(t, r.Err, "message %d", i)
		}
		tables, chains, rules := nftRuleset(t, ns)
		assert.Zero(t, tables+chains+rules, "an nf_tables batch is all or nothing")
	})
}

func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is needed for this test (.ci/run installs it): %v", name, err)
	}
}
