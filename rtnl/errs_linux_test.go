//go:build linux

package rtnl_test

import "os"

func os_ErrExist() error    { return os.ErrExist }
func os_ErrNotExist() error { return os.ErrNotExist }
