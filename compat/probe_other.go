//go:build !linux && !freebsd

package compat

// probe reports everything as unsupported: this OS has no netlink.
func probe() Report {
	return hostProbe(noProbeOps{})
}

// noProbeOps fails every socket with ErrNotSupported.
type noProbeOps struct{}

func (noProbeOps) open(int) (int, error)      { return -1, ErrNotSupported }
func (noProbeOps) setBool(int, int) error     { return ErrNotSupported }
func (noProbeOps) close(int) error            { return nil }
func (noProbeOps) unsupported(err error) bool { return true }
func (noProbeOps) request(int, []byte) ([]byte, error) {
	return nil, ErrNotSupported
}
