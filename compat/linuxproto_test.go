package compat

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLinuxProtoLayout re-derives every size and offset in linuxproto.go
// from the sizes of the uapi structs' members, so that a typo in one of them
// shows. (The values were also checked with gcc's offsetof against the
// installed uapi headers when they were written.)
func TestLinuxProtoLayout(t *testing.T) {
	const (
		sockid      = 2 + 2 + 16 + 16 + 4 + 8 // sport, dport, src, dst, if, cookie
		xfrmAddr    = 16
		xfrmID      = xfrmAddr + 4 + 1 + 3 // daddr, spi, proto, padding
		lifetimeCfg = 8 * 8
		lifetimeCur = 4 * 8
		stats       = 3 * 4
	)
	tests := []struct {
		name      string
		got, want int
	}{
		{"inet_diag_req_v2", SizeofInetDiagReqV2, 4 + 4 + sockid},
		{"inet_diag_req_v2.idiag_states", InetDiagReqV2States, 4},
		{"inet_diag_req_v2.id", InetDiagReqV2ID, 8},
		{"inet_diag_msg", SizeofInetDiagMsg, 4 + sockid + 5*4},
		{"inet_diag_msg.id", InetDiagMsgID, 4},
		{"inet_diag_msg.idiag_uid", InetDiagMsgUID, 4 + sockid + 3*4},
		{"inet_diag_msg.idiag_inode", InetDiagMsgInode, 4 + sockid + 4*4},
		{"sockid.dport", InetDiagSockIDDport, 2},
		{"sockid.src", InetDiagSockIDSrc, 4},
		{"sockid.dst", InetDiagSockIDDst, 4 + 16},
		{"sockid.if", InetDiagSockIDIf, 4 + 32},
		{"xfrm_selector", SizeofXfrmSelector, 2*xfrmAddr + 4*2 + 2 + 3 + 3 + 4 + 4}, // 3 bytes of padding before ifindex
		{"xfrm_selector.family", XfrmSelFamily, 2*xfrmAddr + 4*2},
		{"xfrm_selector.proto", XfrmSelProto, XfrmSelPrefixlenS + 1},
		{"xfrm_usersa_info.id", XfrmSAIDDaddr, SizeofXfrmSelector},
		{"xfrm_usersa_info.id.spi", XfrmSAIDSPI, XfrmSAIDDaddr + xfrmAddr},
		{"xfrm_usersa_info.id.proto", XfrmSAIDProto, XfrmSAIDSPI + 4},
		{"xfrm_usersa_info.saddr", XfrmSASaddr, SizeofXfrmSelector + xfrmID},
		{"xfrm_usersa_info.reqid", XfrmSAReqid, XfrmSASaddr + xfrmAddr + lifetimeCfg + lifetimeCur + stats + 4},
		{"xfrm_usersa_info.family", XfrmSAFamily, XfrmSAReqid + 4},
		{"xfrm_usersa_info.mode", XfrmSAMode, XfrmSAFamily + 2},
		{"xfrm_usersa_info", SizeofXfrmUsersaInfo, (XfrmSAMode + 3 + xfrmTailAlign - 1) &^ (xfrmTailAlign - 1)},
		{"xfrm_userpolicy_info.priority", XfrmPolPriority, SizeofXfrmSelector + lifetimeCfg + lifetimeCur},
		{"xfrm_userpolicy_info.index", XfrmPolIndex, XfrmPolPriority + 4},
		{"xfrm_userpolicy_info.dir", XfrmPolDir, XfrmPolIndex + 4},
		{"xfrm_userpolicy_info.action", XfrmPolAction, XfrmPolDir + 1},
		{"xfrm_userpolicy_info", SizeofXfrmUserpolicyInfo, (XfrmPolAction + 3 + xfrmTailAlign - 1) &^ (xfrmTailAlign - 1)},
		{"cn_msg", SizeofCnMsg, 4*4 + 2*2},
		{"cn_msg.len", CnMsgLen, 4 * 4},
		{"proc_event.event_data", ProcEventData, 4 + 4 + 8},
		{"fork.child_pid", ProcForkChildPid, 2 * 4},
		{"exit.exit_code", ProcExitCode, 2 * 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got)
		})
	}
}
