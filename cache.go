package netlink

import (
	"sync"
	"sync/atomic"
)

// cache1 keeps values for reuse: one in an atomic slot, for the usual case
// of one goroutine at a time (an exchange each way, cheaper than a
// sync.Pool's), and the rest in a sync.Pool, for goroutines running at
// once.
type cache1[T any] struct {
	one  atomic.Pointer[T]
	pool sync.Pool
}

// get returns a kept value, or nil.
func (c *cache1[T]) get() *T {
	if p := c.one.Swap(nil); p != nil {
		return p
	}
	p, _ := c.pool.Get().(*T)
	return p
}

// put keeps p for a later get.
func (c *cache1[T]) put(p *T) {
	if !c.one.CompareAndSwap(nil, p) {
		c.pool.Put(p)
	}
}
