package genlctrl

import "syscall"

// noData is what GETPOLICY answers for a family without policies: Linux's
// ENODATA.
const noData = syscall.ENODATA
