package bus

import (
	"errors"
	"os/user"
	"time"
)

// SetReadBuffer exposes setReadBuffer to the tests.
func (t *Transport) SetReadBuffer(bytes int) error { return t.setReadBuffer(bytes) }

// SetCredsHook makes s see every new connection with the credentials fn
// returns for the real ones: a test hook standing in for a process of
// another user. It must be called before s serves.
func SetCredsHook(s *Server, fn func(pid int32, uid, gid uint32) (int32, uint32, uint32)) {
	s.credsHook = func(c creds) creds {
		c.PID, c.UID, c.GID = fn(c.PID, c.UID, c.GID)
		return c
	}
}

// SetAnswerWait sets how long a family's answer waits for room in its
// caller's queue, and returns the previous value.
func SetAnswerWait(d time.Duration) time.Duration {
	return time.Duration(answerWait.Swap(int64(d)))
}

// ParseAccessNoNSS is ParseAccess with a user database of its own: root
// (uid and gid 0) and nobody (65534), so that the fuzz test exercises
// the parser, not the system's name services.
func ParseAccessNoNSS(data []byte) (*Access, error) {
	return parseAccess(data, &names{
		lookupUser: func(n string) (*user.User, error) {
			switch n {
			case "root":
				return &user.User{Uid: "0", Gid: "0", Username: n}, nil
			case "nobody":
				return &user.User{Uid: "65534", Gid: "65534", Username: n}, nil
			}
			return nil, errors.New("unknown user")
		},
		lookupGroup: func(n string) (*user.Group, error) {
			switch n {
			case "root":
				return &user.Group{Gid: "0", Name: n}, nil
			case "nogroup":
				return &user.Group{Gid: "65534", Name: n}, nil
			}
			return nil, errors.New("unknown group")
		},
	})
}

// ZeroLengthFrames reports whether a datagram of no bytes is refused as a
// bad frame (Linux's event loop) rather than read as the end of the
// connection.
const ZeroLengthFrames = zeroLengthFrames

// ServeHooks are test hooks of ServeWith's reader goroutine, called from
// it: Queued after it queued a request from port, Released after it
// applied the release of port, ReaderDone as it ends.
type ServeHooks struct {
	Queued, Released func(port uint32)
	ReaderDone       func()
}

// SetServeHooks makes ServeWith with o call h.
func SetServeHooks(o *ServeOptions, h ServeHooks) {
	o.hook = func(ev serveEvent, port uint32) {
		switch {
		case ev == serveQueued && h.Queued != nil:
			h.Queued(port)
		case ev == serveReleased && h.Released != nil:
			h.Released(port)
		case ev == serveReaderDone && h.ReaderDone != nil:
			h.ReaderDone()
		}
	}
}
