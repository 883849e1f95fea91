package netlink

// Protocol quirks: the places where a kernel protocol departs from the
// request/ACK/DONE rules the Conn otherwise relies on, all in one place.
//
//   - NETLINK_AUDIT (9): the reply to AUDIT_GET, AUDIT_SIGNAL_INFO,
//     AUDIT_TTY_GET and AUDIT_GET_FEATURE is sent by a kernel thread
//     (audit_send_reply), usually after the ACK; AUDIT_LIST_RULES sends its
//     rules and NLMSG_DONE the same way. Execute and Do wait for both the
//     ACK and the reply, in either order (repliesAfterAck).
//   - NETLINK_CONNECTOR (11): never ACKs. PROC_CN_MCAST_LISTEN is answered
//     with a PROC_EVENT_NONE multicast, not an ACK, so subscribe with Send
//     and read events with Receive; Execute would wait until its context
//     ends.
//   - NETLINK_USERSOCK (2): a multicast send (Addr{Group: g}) is broadcast
//     to the group, then also unicast to port 0, where no kernel socket
//     listens, and sendmsg reports ECONNREFUSED although the members got
//     it. The Linux transport reports success for that case only
//     (transport_linux.go). A unicast to a peer whose queue is full fails
//     with EAGAIN at once; Send retries it for a while (see Send).
//   - NETLINK_KOBJECT_UEVENT (15): datagrams are NUL-separated text, not
//     netlink messages; read them with ReadDatagram (package uevent).
//   - NETLINK_NETFILTER (12), nf_tables: changes are accepted only inside a
//     batch (NFNL_MSG_BATCH_BEGIN ... NFNL_MSG_BATCH_END) that arrives in one
//     datagram; use Batch with BatchOptions.OneDatagram.
//   - NETLINK_ROUTE and the rest, NLM_F_ECHO: Linux sends the echo to the
//     requester as a copy of the group notification (marked with the group)
//     before the ACK; the Conn hands it to the request that asked (match).
//   - Linux runs one dump per socket (EBUSY for a second one): a kernel Conn
//     queues dumps (acquireDump). FreeBSD builds a whole dump during the
//     request and has no such limit.
//   - FreeBSD: the source of every message is port 0 and the group of a
//     multicast message is not reported; replies carry the requester's port
//     in nlmsg_pid, and route notifications reuse the triggering request's
//     header (another socket's seq and pid). A reply must therefore carry
//     our port (kernelFacts.stampsPID); sequence numbers start at a random
//     value on every OS.

// Protocol numbers used by the quirks (include/uapi/linux/netlink.h).
const (
	protoAudit = 9
)

// Audit message types whose reply follows the ACK
// (include/uapi/linux/audit.h).
const (
	auditGet        = 1000
	auditSignalInfo = 1010
	auditListRules  = 1013
	auditTTYGet     = 1016
	auditGetFeature = 1019
)

// repliesAfterAck returns what may follow the ACK of do-request req on
// this kernel socket (afterAckNone for sockets that are not kernel ones).
func (k kernelFacts) repliesAfterAck(req Message) int8 {
	if k.protocol != protoAudit || req.Addr.Port != 0 {
		return afterAckNone
	}
	switch req.Header.Type {
	case auditGet, auditSignalInfo, auditTTYGet, auditGetFeature:
		return afterAckOne
	case auditListRules:
		return afterAckMulti
	}
	return afterAckNone
}
