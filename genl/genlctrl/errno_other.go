//go:build !linux

package genlctrl

import "syscall"

// noData: where the host has no ENODATA that genl understands (FreeBSD's
// controller has no GETPOLICY at all), a family without policies gets an
// empty dump, which genl reads as an empty Policy.
const noData syscall.Errno = 0
