package bus

// SetReadBuffer exposes setReadBuffer to the tests.
func (t *Transport) SetReadBuffer(bytes int) error { return t.setReadBuffer(bytes) }
