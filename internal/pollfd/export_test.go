//go:build unix

package pollfd

// Armed reports whether a context's cancellation is armed on p's read and
// write directions.
func Armed(p *FD) (read, write bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rd.armStop != nil, p.wr.armStop != nil
}
