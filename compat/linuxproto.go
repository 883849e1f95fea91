package compat

// Linux-only protocols that golang.org/x/sys/unix does not describe:
// sock_diag's inet_diag, xfrm and the connector's process events. FreeBSD
// has none of them. The struct sizes and offsets are those of the uapi
// headers (checked with gcc's offsetof on linux/amd64). They are the same on
// every architecture except the sizes of the two xfrm structs that end in
// padding after 64-bit members: 32-bit x86 aligns __u64 to 4 bytes, so
// there they are 4 bytes shorter (linuxproto_386.go).

// sock_diag (include/uapi/linux/inet_diag.h, include/uapi/linux/sock_diag.h).
// SOCK_DIAG_BY_FAMILY itself is in x/sys/unix.
const (
	// SizeofInetDiagReqV2 is sizeof(struct inet_diag_req_v2): sdiag_family,
	// sdiag_protocol, idiag_ext, pad (u8 each), idiag_states (u32 bitmask of
	// 1<<TCP_*), then struct inet_diag_sockid.
	SizeofInetDiagReqV2 = 56
	// InetDiagReqV2States is the offset of idiag_states in inet_diag_req_v2.
	InetDiagReqV2States = 4
	// InetDiagReqV2ID is the offset of the struct inet_diag_sockid.
	InetDiagReqV2ID = 8

	// SizeofInetDiagMsg is sizeof(struct inet_diag_msg): idiag_family,
	// idiag_state, idiag_timer, idiag_retrans (u8 each), the sockid, then
	// idiag_expires, idiag_rqueue, idiag_wqueue, idiag_uid, idiag_inode (u32).
	SizeofInetDiagMsg = 72
	// InetDiagMsgID is the offset of the sockid in inet_diag_msg.
	InetDiagMsgID = 4
	// InetDiagMsgUID and InetDiagMsgInode are the offsets of idiag_uid and
	// idiag_inode in inet_diag_msg.
	InetDiagMsgUID   = 64
	InetDiagMsgInode = 68

	// Offsets in struct inet_diag_sockid (48 bytes): idiag_sport and
	// idiag_dport are __be16, idiag_src and idiag_dst are __be32[4] (an IPv4
	// address in the first word), then idiag_if and idiag_cookie[2].
	InetDiagSockIDSport = 0
	InetDiagSockIDDport = 2
	InetDiagSockIDSrc   = 4
	InetDiagSockIDDst   = 20
	InetDiagSockIDIf    = 36

	// TCPListen is TCP_LISTEN (include/net/tcp_states.h), the state whose
	// bit 1<<TCPListen selects listeners in idiag_states.
	TCPListen = 10
)

// xfrm (include/uapi/linux/xfrm.h).
const (
	// XfrmMsgNewSA is XFRM_MSG_NEWSA, the type of each SA in a dump.
	XfrmMsgNewSA = 0x10
	// XfrmMsgGetSA is XFRM_MSG_GETSA; with NLM_F_DUMP it dumps the SAs.
	XfrmMsgGetSA = 0x12
	// XfrmMsgNewPolicy is XFRM_MSG_NEWPOLICY, the type of each policy in a dump.
	XfrmMsgNewPolicy = 0x13
	// XfrmMsgGetPolicy is XFRM_MSG_GETPOLICY; with NLM_F_DUMP it dumps the
	// policies.
	XfrmMsgGetPolicy = 0x15

	// SizeofXfrmSelector is sizeof(struct xfrm_selector): daddr, saddr
	// (xfrm_address_t, 16 bytes each), dport, dport_mask, sport, sport_mask
	// (__be16), family (u16), prefixlen_d, prefixlen_s, proto (u8), ifindex,
	// user.
	SizeofXfrmSelector = 56
	// Offsets in struct xfrm_selector.
	XfrmSelDaddr      = 0
	XfrmSelSaddr      = 16
	XfrmSelFamily     = 40
	XfrmSelPrefixlenD = 42
	XfrmSelPrefixlenS = 43
	XfrmSelProto      = 44

	// SizeofXfrmUsersaInfo is sizeof(struct xfrm_usersa_info): sel, id
	// (struct xfrm_id: daddr, __be32 spi, u8 proto), saddr, lft, curlft,
	// stats, seq, reqid, family, mode, replay_window, flags; 224 bytes, 220
	// on 32-bit x86.
	SizeofXfrmUsersaInfo = sizeofXfrmUsersaInfo
	// Offsets in struct xfrm_usersa_info.
	XfrmSAIDDaddr = 56
	XfrmSAIDSPI   = 72
	XfrmSAIDProto = 76
	XfrmSASaddr   = 80
	XfrmSAReqid   = 208
	XfrmSAFamily  = 212
	XfrmSAMode    = 214

	// SizeofXfrmUserpolicyInfo is sizeof(struct xfrm_userpolicy_info): sel,
	// lft, curlft, priority, index (u32), dir, action, flags, share (u8);
	// 168 bytes, 164 on 32-bit x86.
	SizeofXfrmUserpolicyInfo = sizeofXfrmUserpolicyInfo
	// Offsets in struct xfrm_userpolicy_info.
	XfrmPolPriority = 152
	XfrmPolIndex    = 156
	XfrmPolDir      = 160
	XfrmPolAction   = 161

	// Policy directions (enum XFRM_POLICY_IN, _OUT, _FWD) and modes
	// (XFRM_MODE_TRANSPORT, _TUNNEL).
	XfrmPolicyIn      = 0
	XfrmPolicyOut     = 1
	XfrmPolicyFwd     = 2
	XfrmModeTransport = 0
	XfrmModeTunnel    = 1
)

// Connector and its process events (include/uapi/linux/connector.h,
// include/uapi/linux/cn_proc.h).
const (
	// CnIdxProc and CnValProc are CN_IDX_PROC and CN_VAL_PROC, the
	// connector ID of process events; CnIdxProc is also the multicast
	// group to join.
	CnIdxProc = 1
	CnValProc = 1

	// SizeofCnMsg is sizeof(struct cn_msg): struct cb_id {idx, val}, seq,
	// ack (u32), len, flags (u16), then len bytes of data.
	SizeofCnMsg = 20
	// CnMsgLen is the offset of cn_msg.len.
	CnMsgLen = 16

	// ProcCnMcastListen and ProcCnMcastIgnore are enum proc_cn_mcast_op,
	// the u32 a listener sends as cn_msg data to start and stop events.
	ProcCnMcastListen = 1
	ProcCnMcastIgnore = 2

	// Offsets in struct proc_event: what (u32), cpu (u32), timestamp_ns
	// (u64), then the event_data union.
	ProcEventWhat = 0
	ProcEventData = 16

	// Event types (enum what).
	ProcEventNone = 0x00000000
	ProcEventFork = 0x00000001
	ProcEventExec = 0x00000002
	ProcEventExit = 0x80000000

	// Offsets from ProcEventData: fork_proc_event is parent_pid,
	// parent_tgid, child_pid, child_tgid; exec_proc_event is process_pid,
	// process_tgid; exit_proc_event is process_pid, process_tgid,
	// exit_code (a wait status), exit_signal, parent_pid, parent_tgid.
	ProcForkParentTgid = 4
	ProcForkChildPid   = 8
	ProcForkChildTgid  = 12
	ProcExecPid        = 0
	ProcExitPid        = 0
	ProcExitCode       = 8
)
