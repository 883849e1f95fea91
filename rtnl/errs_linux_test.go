//go:build linux

package rtnl_test

import "os"

func os_ErrExist() error { return os.ErrExist }
