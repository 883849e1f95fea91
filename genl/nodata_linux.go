package genl

import (
	"errors"

	"golang.org/x/sys/unix"
)

// isNoData reports a family or operation without a policy: Linux's
// CTRL_CMD_GETPOLICY replies ENODATA.
func isNoData(err error) bool { return errors.Is(err, unix.ENODATA) }
