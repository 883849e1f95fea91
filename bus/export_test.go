package bus

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
