// Package bustest runs an in-process bus daemon for tests, as
// net/http/httptest runs an HTTP server: most bus tests need no extra
// process.
//
//	srv := bustest.NewServer(t, nil)
//	c := srv.Dial(t, nil) // a *netlink.Conn on the bus, closed at cleanup
package bustest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
)

// Server is a bus daemon serving a socket in a private temporary directory.
type Server struct {
	*bus.Server
	// Path is the socket's path.
	Path string
	done chan error
	dir  string
}

// NewServer starts s (nil: a default bus.Server) on a fresh socket and
// closes it when the test ends. The socket lives in a short temporary
// directory, because socket paths are limited to about 100 bytes.
func NewServer(t testing.TB, s *bus.Server) *Server {
	t.Helper()
	if s == nil {
		s = &bus.Server{}
	}
	dir, err := os.MkdirTemp("", "nlbus")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bus.sock")
	l, err := bus.Listen(path, nil)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	srv := &Server{Server: s, Path: path, done: make(chan error, 1), dir: dir}
	go func() { srv.done <- s.Serve(l) }()
	t.Cleanup(srv.Close)
	return srv
}

// Close stops the server, closing every connection, and removes its
// directory. It may be called more than once.
func (s *Server) Close() {
	s.Server.Close()
	if s.done != nil {
		if err := <-s.done; err != nil && !errors.Is(err, bus.ErrServerClosed) {
			panic("bustest: serve: " + err.Error())
		}
		s.done = nil
	}
	os.RemoveAll(s.dir)
}

// Dial connects a Conn to the server and closes it when the test ends.
func (s *Server) Dial(t testing.TB, cfg *netlink.Config) *netlink.Conn {
	t.Helper()
	c, err := bus.Dial(&bus.Config{Socket: s.Path, Netlink: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
