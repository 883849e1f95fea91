package rtnl_test

import "encoding/binary"

var ne = binary.NativeEndian
