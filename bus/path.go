package bus

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// EnvSocket names the environment variable that overrides the socket path
// for clients and the daemon alike.
const EnvSocket = "NLBUS_SOCKET"

// SocketPath returns the socket the daemon listens on and clients dial, with
// no flags: $NLBUS_SOCKET if set; for root the system bus,
// /run/nlbus/bus.sock (FreeBSD /var/run/nlbus/bus.sock); for anyone else a
// per-user bus, $XDG_RUNTIME_DIR/nlbus/bus.sock, else
// $TMPDIR/nlbus-UID/bus.sock. It only computes the path.
func SocketPath() string {
	if p := os.Getenv(EnvSocket); p != "" {
		return p
	}
	return defaultPath(os.Geteuid(), os.Getenv("XDG_RUNTIME_DIR"), runtime.GOOS)
}

func defaultPath(euid int, xdg, goos string) string {
	if euid == 0 {
		if goos == "freebsd" {
			return "/var/run/nlbus/bus.sock"
		}
		return "/run/nlbus/bus.sock"
	}
	if xdg != "" && filepath.IsAbs(xdg) {
		return filepath.Join(xdg, "nlbus", "bus.sock")
	}
	return filepath.Join(os.TempDir(), "nlbus-"+strconv.Itoa(euid), "bus.sock")
}

// clientPaths are the sockets a client tries in order when given none:
// $NLBUS_SOCKET alone if set; else the default path, and for a user other
// than root then the system bus, which a --socket-group may open to it.
func clientPaths(env string, euid int, xdg, goos string) []string {
	if env != "" {
		return []string{env}
	}
	own := defaultPath(euid, xdg, goos)
	if euid == 0 {
		return []string{own}
	}
	return []string{own, defaultPath(0, "", goos)}
}

// SocketMode is the mode Listen gives the socket file: 0660 for root (the
// system bus; give a group access with ListenConfig.Group), 0600 otherwise.
func SocketMode() os.FileMode {
	if os.Geteuid() == 0 {
		return 0o660
	}
	return 0o600
}

// ListenConfig configures Listen.
type ListenConfig struct {
	// Mode of the socket file; 0 means SocketMode().
	Mode os.FileMode
	// Group, when above 0, is the group ID given to the socket file (so
	// that its members may use a 0660 system bus); 0 or less leaves the
	// file's group alone.
	Group int
}

// Listen creates the directory of path if needed (0755 for root's system
// directory, otherwise 0700, and a private directory must belong to the
// caller and not be open to others), replaces a stale socket file, refuses
// a path on which a daemon answers, and listens with SOCK_SEQPACKET. Closing
// the listener removes the socket file.
func Listen(path string, cfg *ListenConfig) (*net.UnixListener, error) {
	var c ListenConfig
	if cfg != nil {
		c = *cfg
	}
	if c.Mode == 0 {
		c.Mode = SocketMode()
	}
	if err := prepareDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("nlbus: %s exists and is not a socket; not replacing it", path)
		}
		d := net.Dialer{Timeout: time.Second}
		conn, derr := d.Dial("unixpacket", path)
		if derr == nil {
			conn.Close()
			return nil, fmt.Errorf("nlbus: a daemon is already listening on %s", path)
		}
		if !errors.Is(derr, syscall.ECONNREFUSED) && !errors.Is(derr, syscall.ENOENT) {
			return nil, fmt.Errorf("nlbus: %s exists and is not a stale socket: %w", path, derr)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("nlbus: removing stale socket: %w", err)
		}
	}
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("nlbus: listen: %w", err)
	}
	if err := os.Chmod(path, c.Mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("nlbus: socket mode: %w", err)
	}
	if c.Group > 0 {
		if err := os.Chown(path, -1, c.Group); err != nil {
			l.Close()
			return nil, fmt.Errorf("nlbus: socket group: %w", err)
		}
	}
	return l, nil
}

func prepareDir(dir string) error {
	euid := os.Geteuid()
	mode := os.FileMode(0o700)
	if euid == 0 {
		mode = 0o755
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("nlbus: socket directory: %w", err)
	}
	if euid == 0 || !strings.HasPrefix(filepath.Base(dir), "nlbus-") {
		return nil
	}
	// The private directory in the shared temp dir: someone else may have
	// created it first to catch our clients.
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("nlbus: socket directory: %w", err)
	}
	if owner, ok := fileOwner(fi); ok && owner != uint32(euid) {
		return fmt.Errorf("nlbus: socket directory %s belongs to uid %d, not to us (uid %d)", dir, owner, euid)
	}
	// Others may read it (the socket's own mode, 0600, keeps them out),
	// but not write to it: they could replace the socket.
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("nlbus: socket directory %s is writable by its group or others (mode %v)", dir, fi.Mode().Perm())
	}
	return nil
}

func fileOwner(fi os.FileInfo) (uint32, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, true
}

// InheritedListener returns the listener passed by socket activation
// (systemd's LISTEN_PID/LISTEN_FDS protocol: the first passed descriptor,
// number 3), or nil when none was passed. The variables are unset so that
// children do not inherit them. Closing it does not remove the socket file.
func InheritedListener() (*net.UnixListener, error) {
	pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID"))
	n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if pid != os.Getpid() || n < 1 {
		return nil, nil
	}
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	f := os.NewFile(3, "listen-fd-3")
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("nlbus: inherited listener: %w", err)
	}
	ul, ok := l.(*net.UnixListener)
	if !ok || ul.Addr().Network() != "unixpacket" {
		l.Close()
		return nil, fmt.Errorf("nlbus: inherited descriptor 3 is a %s listener, want a unix SOCK_SEQPACKET one", l.Addr().Network())
	}
	ul.SetUnlinkOnClose(false)
	return ul, nil
}
