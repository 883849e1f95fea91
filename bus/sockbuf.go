package bus

import "golang.org/x/sys/unix"

// raiseBuffers makes fd's send and receive buffers hold at least n bytes.
// A SOCK_SEQPACKET datagram larger than the send buffer fails with
// EMSGSIZE on FreeBSD, whose default for these sockets is 8 KiB
// (net.local.seqpacket.maxseqpacket); Linux's defaults are larger than
// the bus's datagrams and are left alone. Failures are ignored: a system
// that caps buffers lower still works for smaller datagrams.
func raiseBuffers(fd int, n int) {
	for _, opt := range []int{unix.SO_SNDBUF, unix.SO_RCVBUF} {
		if cur, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, opt); err == nil && cur < n {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, n)
		}
	}
}
