// Package bench compares github.com/nlbus/netlink with mdlayher/netlink,
// mdlayher/genetlink, vishvananda/netlink and a raw golang.org/x/sys loop, in
// one `go test -bench` run so that the ratios are meaningful. It is a module
// of its own so that the library never requires its peers. See README.md.
package bench
