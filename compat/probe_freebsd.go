package compat

// probe uses FreeBSD AF_NETLINK (38), which golang.org/x/sys/unix lacks;
// unix.Socket and unix.SetsockoptInt accept the numeric value. If netlink is
// not loaded (FreeBSD 13.x without kldload netlink) socket fails with
// EAFNOSUPPORT and every Result wraps ErrNotSupported.
func probe() Report {
	return hostProbe(sysProbeOps{family: AFNetlinkFreeBSD})
}
