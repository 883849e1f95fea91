//go:build !unix

package genl

import (
	"errors"
	"syscall"
)

func isNotSupported(err error) bool { return errors.Is(err, syscall.EOPNOTSUPP) }

func isNoEntry(err error) bool { return errors.Is(err, syscall.ENOENT) }
