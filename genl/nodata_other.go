//go:build !linux

package genl

// isNoData: only Linux's controller replies ENODATA (FreeBSD has no
// CTRL_CMD_GETPOLICY, and x/sys/unix has no ENODATA there).
func isNoData(error) bool { return false }
