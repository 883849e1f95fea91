package compat

// 32-bit x86 aligns __u64 to 4 bytes: the xfrm structs that end after their
// 64-bit lifetimes carry no tail padding (include/uapi/linux/xfrm.h; the
// kernel's xfrm_compat.c translates the same difference for 32-bit
// processes on 64-bit kernels).
const (
	sizeofXfrmUsersaInfo     = 220
	sizeofXfrmUserpolicyInfo = 164
	xfrmTailAlign            = 4
)
