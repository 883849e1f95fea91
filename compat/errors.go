package compat

import "errors"

// ErrNotSupported is returned, wrapped, when an operation, protocol, socket option
// or message type is not available on this operating system or kernel. Errors
// that wrap it name the operation and GOOS/GOARCH.
var ErrNotSupported = errors.New("not supported")
