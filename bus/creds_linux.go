package bus

import "golang.org/x/sys/unix"

// peerCreds reads the credentials of the process at the other end of the
// connected socket fd (SO_PEERCRED), taken when it connected.
func peerCreds(fd int) (creds, error) {
	u, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return creds{}, err
	}
	return creds{PID: u.Pid, UID: u.Uid, GID: u.Gid}, nil
}
