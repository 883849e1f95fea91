//go:build linux

package bench

import (
	"context"
	"encoding/json"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bench/internal/testns"
)

// routeAdds returns n RTM_NEWROUTE requests (Create|Replace, so that a
// repeated batch succeeds) for 172.16.0.0/12 /32s through index.
func routeAdds(n int, index uint32, flags netlink.HeaderFlags) []netlink.Message {
	msgs := make([]netlink.Message, n)
	for i := range msgs {
		rtm := make([]byte, unix.SizeofRtMsg)
		rtm[0], rtm[1] = unix.AF_INET, 32
		rtm[4], rtm[5], rtm[6], rtm[7] = unix.RT_TABLE_MAIN, unix.RTPROT_STATIC, unix.RT_SCOPE_LINK, unix.RTN_UNICAST
		var ae netlink.AttributeEncoder
		ae.Reset(rtm)
		a := 172<<24 | 16<<16 | uint32(i)
		ae.Raw(unix.RTA_DST, []byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
		ae.Uint32(unix.RTA_OIF, index)
		b, _ := ae.Bytes()
		msgs[i] = netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWROUTE, Flags: netlink.Create | netlink.Replace | flags}, Data: b}
	}
	return msgs
}

func linkIndex(b *testing.B, ns *testns.NS) uint32 {
	out, err := exec.Command("ip", "-n", ns.Name, "-j", "link", "show", testns.LinkName).Output()
	if err != nil {
		b.Fatal(err)
	}
	var links []struct{ Ifindex uint32 }
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		b.Fatalf("ip -j link: %v %s", err, out)
	}
	return links[0].Ifindex
}

// BenchmarkBatchRoutes10k adds (replaces) 10,000 routes per op: one Batch
// (messages without NLM_F_ACK: only failures are answered, then one
// barrier) against one Execute per route (request + ACK each), in the same
// run. sends/op and reads/op are the system calls per 10,000 messages.
func BenchmarkBatchRoutes10k(b *testing.B) {
	const n = 10000
	for _, mode := range []string{"batch", "execute-each"} {
		b.Run(mode, func(b *testing.B) {
			ns := routesNS(b, 0)
			c, err := netlink.Dial(netlink.Route, &netlink.Config{NetNS: ns.Fd()})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			msgs := routeAdds(n, linkIndex(b, ns), 0)
			before := c.Stats()
			b.ReportAllocs()
			for b.Loop() {
				if mode == "batch" {
					for i := range msgs {
						msgs[i].Header.Sequence = 0
					}
					if _, err := c.Batch(ctx, msgs, nil); err != nil {
						b.Fatal(err)
					}
					continue
				}
				for _, m := range msgs {
					if _, err := c.Execute(ctx, m); err != nil {
						b.Fatal(err)
					}
				}
			}
			after := c.Stats()
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(after.Sends-before.Sends)/float64(b.N), "sends/op")
			b.ReportMetric(float64(after.Reads-before.Reads)/float64(b.N), "reads/op")
		})
	}
}

func nfgen(family uint8, resID uint16) []byte {
	return []byte{family, unix.NFNETLINK_V0, byte(resID >> 8), byte(resID)}
}

func nftDelim(typ netlink.HeaderType) netlink.Message {
	return netlink.Message{Header: netlink.Header{Type: typ}, Data: nfgen(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)}
}

func nftMsg(typ uint16, flags netlink.HeaderFlags, fn func(*netlink.AttributeEncoder)) netlink.Message {
	var ae netlink.AttributeEncoder
	ae.Reset(nfgen(unix.NFPROTO_INET, 0))
	fn(&ae)
	b, _ := ae.Bytes()
	return netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | typ), Flags: flags}, Data: b}
}

func nftRule(flags netlink.HeaderFlags) netlink.Message {
	return nftMsg(unix.NFT_MSG_NEWRULE, netlink.Create|netlink.Append|flags, func(ae *netlink.AttributeEncoder) {
		ae.String(unix.NFTA_RULE_TABLE, "t")
		ae.String(unix.NFTA_RULE_CHAIN, "c")
		ae.Nested(unix.NFTA_RULE_EXPRESSIONS, func(ae *netlink.AttributeEncoder) error {
			ae.Nested(unix.NFTA_LIST_ELEM, func(ae *netlink.AttributeEncoder) error {
				ae.String(unix.NFTA_EXPR_NAME, "counter")
				return nil
			})
			return nil
		})
	})
}

// BenchmarkBatchNftRules10k adds 10,000 nf_tables rules per op (the ruleset
// is flushed between ops, outside the timer): one Batch of 10,000 rules in
// one datagram against one round trip per rule (a batch of BEGIN, the rule
// with NLM_F_ACK, END: nf_tables takes changes only in batches).
func BenchmarkBatchNftRules10k(b *testing.B) {
	const n = 10000
	for _, mode := range []string{"batch", "one-per-rule"} {
		b.Run(mode, func(b *testing.B) {
			ns := routesNS(b, 0)
			c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: ns.Fd()})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			setup := []netlink.Message{
				nftDelim(unix.NFNL_MSG_BATCH_BEGIN),
				nftMsg(unix.NFT_MSG_NEWTABLE, netlink.Create|netlink.Acknowledge, func(ae *netlink.AttributeEncoder) { ae.String(unix.NFTA_TABLE_NAME, "t") }),
				nftMsg(unix.NFT_MSG_NEWCHAIN, netlink.Create|netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
					ae.String(unix.NFTA_CHAIN_TABLE, "t")
					ae.String(unix.NFTA_CHAIN_NAME, "c")
				}),
				nftDelim(unix.NFNL_MSG_BATCH_END),
			}
			reset := func() {
				b.StopTimer()
				if out, err := exec.Command("ip", "netns", "exec", ns.Name, "nft", "flush", "ruleset").CombinedOutput(); err != nil {
					b.Fatalf("nft flush ruleset: %v: %s", err, out)
				}
				if _, err := c.Batch(ctx, clearSeq(setup), &netlink.BatchOptions{OneDatagram: true}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			if _, err := exec.LookPath("nft"); err != nil {
				b.Skip("nft (Debian package nftables) is needed to reset the ruleset")
			}
			big := []netlink.Message{nftDelim(unix.NFNL_MSG_BATCH_BEGIN)}
			for range n {
				big = append(big, nftRule(0))
			}
			big = append(big, nftDelim(unix.NFNL_MSG_BATCH_END))
			one := []netlink.Message{nftDelim(unix.NFNL_MSG_BATCH_BEGIN), nftRule(netlink.Acknowledge), nftDelim(unix.NFNL_MSG_BATCH_END)}
			var sends, reads uint64
			b.ReportAllocs()
			for b.Loop() {
				reset()
				before := c.Stats()
				if mode == "batch" {
					if _, err := c.Batch(ctx, clearSeq(big), &netlink.BatchOptions{OneDatagram: true}); err != nil {
						b.Fatal(err)
					}
				} else {
					for range n {
						if _, err := c.Batch(ctx, clearSeq(one), &netlink.BatchOptions{OneDatagram: true}); err != nil {
							b.Fatal(err)
						}
					}
				}
				after := c.Stats()
				sends += after.Sends - before.Sends
				reads += after.Reads - before.Reads
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(sends)/float64(b.N), "sends/op")
			b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
		})
	}
}

func clearSeq(msgs []netlink.Message) []netlink.Message {
	for i := range msgs {
		msgs[i].Header.Sequence = 0
	}
	return msgs
}

// BenchmarkBatchNoop10k sends 10,000 requests the kernel handles at almost
// no cost (NLMSG_NOOP: netlink_rcv_skb skips control messages, and ACKs
// them when asked): one Batch (without NLM_F_ACK, then its barrier)
// against one Execute (request + ACK) per message, in the same run. It
// measures what batching itself saves, where BenchmarkBatchRoutes10k is
// bound by the kernel's route insertions.
func BenchmarkBatchNoop10k(b *testing.B) {
	const n = 10000
	for _, mode := range []string{"batch", "execute-each"} {
		b.Run(mode, func(b *testing.B) {
			c, err := netlink.Dial(netlink.Route, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			msgs := make([]netlink.Message, n)
			for i := range msgs {
				msgs[i] = netlink.Message{Header: netlink.Header{Type: netlink.Noop}}
			}
			before := c.Stats()
			b.ReportAllocs()
			for b.Loop() {
				if mode == "batch" {
					if _, err := c.Batch(ctx, clearSeq(msgs), nil); err != nil {
						b.Fatal(err)
					}
					continue
				}
				for _, m := range msgs {
					if _, err := c.Execute(ctx, m); err != nil {
						b.Fatal(err)
					}
				}
			}
			after := c.Stats()
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(after.Sends-before.Sends)/float64(b.N), "sends/op")
			b.ReportMetric(float64(after.Reads-before.Reads)/float64(b.N), "reads/op")
		})
	}
}
