package netlink

import "github.com/hashicorp/go-hclog"

// Config configures a Conn. The zero value (or a nil *Config) is a good
// default: the kernel picks the port, extended acks are on when the kernel
// has them, and nothing is logged.
type Config struct {
	// Groups are multicast groups joined at dial time, by number; numbers
	// above 32 are fine (they are joined with NETLINK_ADD_MEMBERSHIP).
	Groups []uint32

	// NetNS is an open file descriptor of a network namespace (for example
	// of /run/netns/NAME) in which to open the kernel socket. 0 means the
	// calling thread's namespace. Linux only: elsewhere a non-zero value
	// gives an error wrapping ErrNotSupported. The descriptor may be closed
	// once Dial returns (with RequestSockets, Dial keeps a copy of it for
	// the request sockets it opens later).
	NetNS int

	// PID is an explicit port ID to bind; 0 lets the kernel choose.
	PID uint32

	// DisableExtendedAck turns off NETLINK_EXT_ACK, which is otherwise
	// requested (and silently left off where the kernel lacks it).
	DisableExtendedAck bool

	// Strict turns on NETLINK_GET_STRICT_CHK: the kernel then rejects
	// malformed requests instead of ignoring what it does not understand.
	// Dial fails with ErrNotSupported where the kernel lacks it.
	Strict bool

	// SocketReceiveBuffer and SocketSendBuffer size the kernel socket's
	// buffers, SO_RCVBUF and SO_SNDBUF, in bytes when non-zero. Linux caps
	// them at net.core.rmem_max/wmem_max (root may go beyond); FreeBSD
	// refuses sizes above kern.ipc.maxsockbuf. A transport without socket
	// buffers (the bus, nltest) refuses them with ErrNotSupported.
	SocketReceiveBuffer int
	SocketSendBuffer    int

	// MessageBufferSize is the size of each user-space buffer messages are
	// read into (not a socket option); it is raised to at least 32 KiB, the
	// size the Linux kernel fills dump datagrams up to. A datagram that does
	// not fit is reported as ErrTruncated and the buffer grows.
	MessageBufferSize int

	// RequestSockets, when positive, lets a kernel Conn open up to that many
	// more sockets (of the same protocol, in the same namespace, on first
	// need) for requests made while another request is in flight, so that
	// goroutines sharing the Conn do not wait for each other's replies: on
	// a shared socket the replies are read one at a time. Requests then come
	// from another port than PortID, so leave it at 0 when a request binds
	// kernel state to the requesting socket (an nf_tables table with the
	// owner flag, AUDIT_SET's pid, a genl family's "socket owner"); requests
	// with NLM_F_ECHO always use the Conn's own socket. Dial only.
	RequestSockets int

	// QueueLimit bounds, in bytes, the messages held for Receive that
	// arrived while another call was reading (multicast notifications,
	// replies to Send). Past it, messages are dropped and Receive reports
	// ErrOverrun. 0 means 4 MiB.
	QueueLimit int

	// Logger receives debug and trace logs; nil means no logging.
	Logger hclog.Logger
}

const (
	minReceiveBuffer  = 32 << 10
	defaultQueueLimit = 4 << 20
)

func (c *Config) orDefault() Config {
	var cfg Config
	if c != nil {
		cfg = *c
	}
	if cfg.MessageBufferSize < minReceiveBuffer {
		cfg.MessageBufferSize = minReceiveBuffer
	}
	if cfg.QueueLimit <= 0 {
		cfg.QueueLimit = defaultQueueLimit
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return cfg
}
