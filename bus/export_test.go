package bus

import "time"

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
	old := answerWait
	answerWait = d
	return old
}
