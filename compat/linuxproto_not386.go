//go:build !386

package compat

// Every architecture but 32-bit x86 aligns __u64 to 8 bytes, which pads the
// xfrm structs that end after their 64-bit lifetimes.
const (
	sizeofXfrmUsersaInfo     = 224
	sizeofXfrmUserpolicyInfo = 168
	xfrmTailAlign            = 8
)
