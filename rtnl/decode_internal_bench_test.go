package rtnl

import (
	"os"
	"testing"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
)

// BenchmarkDecodeLinksListing decodes the captured Linux links the way a
// listing does: into one reused value, with the listing's arena. It is the
// user-space share of a link dump without the kernel's.
func BenchmarkDecodeLinksListing(b *testing.B) {
	buf, err := os.ReadFile("testdata/linux/links.bin")
	if err != nil {
		b.Fatal(err)
	}
	msgs, err := netlink.ParseMessages(buf)
	if err != nil {
		b.Fatal(err)
	}
	f := compat.FactsFor(compat.Linux)
	var ar arena
	var l Link
	b.ReportAllocs()
	for b.Loop() {
		for i := range msgs {
			l = Link{}
			if err := decodeLink(f, msgs[i].Data, &l, &ar); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/link")
}
