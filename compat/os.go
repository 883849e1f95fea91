package compat

import "runtime"

// OS identifies an operating system family whose netlink dialect this package
// knows. The zero value is Other.
type OS uint8

// Operating systems.
const (
	// Other is any OS without netlink support known to this package.
	Other OS = iota
	// Linux is the Linux kernel.
	Linux
	// FreeBSD is FreeBSD 13.2 or later (netlink(4)).
	FreeBSD
)

// String returns the GOOS-style name: "linux", "freebsd" or "other".
func (o OS) String() string {
	switch o {
	case Linux:
		return "linux"
	case FreeBSD:
		return "freebsd"
	default:
		return "other"
	}
}

// Current returns the OS this program was built for, from runtime.GOOS.
// Android counts as Linux.
func Current() OS {
	return osFromGOOS(runtime.GOOS)
}

func osFromGOOS(goos string) OS {
	switch goos {
	case "linux", "android":
		return Linux
	case "freebsd":
		return FreeBSD
	default:
		return Other
	}
}

// Facts holds the values that differ between the netlink dialects and that
// higher layers must look up here instead of hard-coding. Facts is a plain
// comparable value; obtain it from FactsFor or Host. For Other every field is
// the zero value.
type Facts struct {
	// OS is the dialect these facts describe.
	OS OS

	// AFNetlink is AF_NETLINK: 16 on Linux (include/linux/socket.h), 38 on
	// FreeBSD (sys/sys/socket.h).
	AFNetlink int
	// AFInet is AF_INET, 2 on both (Linux include/linux/socket.h, FreeBSD
	// sys/sys/socket.h).
	AFInet int
	// AFInet6 is AF_INET6 as used in the *_family fields of rtnetlink
	// payloads: 10 on Linux, 28 on FreeBSD (sys/sys/socket.h).
	AFInet6 int

	// RTTableMain is RT_TABLE_MAIN: 254 on Linux
	// (include/uapi/linux/rtnetlink.h), 0 (fib 0) on FreeBSD
	// (sys/netlink/route/route.h).
	RTTableMain uint32
	// RTTableUnspec is RT_TABLE_UNSPEC ("all tables" in dumps): 0 on Linux,
	// 0xFFFFFFFF on FreeBSD (sys/netlink/route/route.h). Always read
	// RTA_TABLE; rtm_table is only a u8.
	RTTableUnspec uint32
	// RTProtMRT is RTPROT_MRT: 10 on Linux (include/uapi/linux/rtnetlink.h);
	// FreeBSD's sys/netlink/route/route.h defines it as 1, a typo kept for
	// ABI compatibility.
	RTProtMRT uint8

	// ErrnoNegative reports whether NLMSG_ERROR and NLMSG_DONE carry a
	// negative errno (Linux) rather than a positive one (FreeBSD
	// netlink_message_writer.c nlmsg_ack). Decoders should accept both signs.
	ErrnoNegative bool
	// DoneHasMulti reports whether NLMSG_DONE carries NLM_F_MULTI. FreeBSD
	// sends it with flags 0 (_nlmsg_end_dump).
	DoneHasMulti bool
	// ConnectAllowed reports whether connect(2) may be called on a netlink
	// socket. FreeBSD sockets are born connected; connect fails with EISCONN.
	ConnectAllowed bool
	// AutoBindOnSend reports whether the kernel assigns a port on the first
	// send. FreeBSD does not: an unbound socket keeps port 0, so always bind
	// explicitly with pid 0.
	AutoBindOnSend bool
	// RTAViaFamilyWidth is the size in bytes of the family field of struct
	// rtvia in RTA_VIA: 2 on Linux (include/uapi/linux/rtnetlink.h), 1 on
	// FreeBSD (sys/netlink/route/route.h, sa_family_t is u8).
	RTAViaFamilyWidth int
	// MaxSendSize is the largest single write the kernel accepts, or 0 when
	// there is no fixed limit (Linux). FreeBSD rejects writes larger than
	// SO_SNDBUF with EMSGSIZE; 65536 is its default (sys/netlink/netlink_var.h
	// NLSNDQ, sysctl net.netlink.sendspace).
	MaxSendSize int
}

// FactsFor returns the facts of the given OS. It never fails; for Other it
// returns Facts{OS: Other}.
func FactsFor(o OS) Facts {
	switch o {
	case Linux:
		return Facts{
			OS:                Linux,
			AFNetlink:         AFNetlinkLinux,
			AFInet:            2,
			AFInet6:           10,
			RTTableMain:       254,
			RTTableUnspec:     0,
			RTProtMRT:         10,
			ErrnoNegative:     true,
			DoneHasMulti:      true,
			ConnectAllowed:    true,
			AutoBindOnSend:    true,
			RTAViaFamilyWidth: 2,
			MaxSendSize:       0,
		}
	case FreeBSD:
		return Facts{
			OS:                FreeBSD,
			AFNetlink:         AFNetlinkFreeBSD,
			AFInet:            2,
			AFInet6:           28,
			RTTableMain:       0,
			RTTableUnspec:     0xFFFFFFFF,
			RTProtMRT:         1,
			ErrnoNegative:     false,
			DoneHasMulti:      false,
			ConnectAllowed:    false,
			AutoBindOnSend:    false,
			RTAViaFamilyWidth: 1,
			MaxSendSize:       65536,
		}
	default:
		return Facts{OS: Other}
	}
}

// Host returns the facts of the OS this program was built for.
func Host() Facts {
	return FactsFor(Current())
}
