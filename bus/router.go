package bus

import (
	"sync"
	"sync/atomic"
)

// router holds the port table and the group memberships.
type router struct {
	mu       sync.RWMutex
	ports    map[uint32]*peer
	groups   map[uint32]map[*peer]struct{}
	next     uint32
	monitors atomic.Int32 // members of GroupMonitor, changed under mu
}

func (r *router) init() {
	r.ports = make(map[uint32]*peer)
	r.groups = make(map[uint32]map[*peer]struct{})
	r.next = FirstAutoPort
}

// add gives p a free port from the automatic range.
func (r *router) add(p *peer) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		port := r.next
		r.next++
		if r.next == 0 || r.next > 0x7fffffff {
			r.next = FirstAutoPort
		}
		if _, taken := r.ports[port]; !taken {
			r.ports[port] = p
			p.port.Store(port)
			return port
		}
	}
}

// lookup returns the peer bound to port, or nil.
func (r *router) lookup(port uint32) *peer {
	r.mu.RLock()
	p := r.ports[port]
	r.mu.RUnlock()
	return p
}

// bind moves p to port; holder is who has it when it is taken.
func (r *router) bind(p *peer, port uint32) (old uint32, holder *peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old = p.port.Load()
	if q, taken := r.ports[port]; taken {
		if q == p {
			return old, nil
		}
		return old, q
	}
	if r.ports[old] == p {
		delete(r.ports, old)
	}
	r.ports[port] = p
	p.port.Store(port)
	return old, nil
}

// join adds p to group g; it reports false when p is already in maxGroups.
func (r *router) join(p *peer, g uint32, maxGroups int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, in := p.groups[g]; in {
		return true
	}
	if len(p.groups) >= maxGroups {
		return false
	}
	m := r.groups[g]
	if m == nil {
		m = make(map[*peer]struct{})
		r.groups[g] = m
	}
	m[p] = struct{}{}
	p.groups[g] = struct{}{}
	if g == GroupMonitor {
		r.monitors.Add(1)
	}
	return true
}

func (r *router) leave(p *peer, g uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leaveLocked(p, g)
}

func (r *router) leaveLocked(p *peer, g uint32) {
	if _, in := p.groups[g]; !in {
		return
	}
	delete(p.groups, g)
	if m := r.groups[g]; m != nil {
		delete(m, p)
		if len(m) == 0 {
			delete(r.groups, g)
		}
	}
	if g == GroupMonitor {
		r.monitors.Add(-1)
	}
}

// remove releases p's port and groups; it returns the port p had, and
// whether it was still bound.
func (r *router) remove(p *peer) (uint32, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for g := range p.groups {
		r.leaveLocked(p, g)
	}
	port := p.port.Load()
	if r.ports[port] == p {
		delete(r.ports, port)
		return port, true
	}
	return port, false
}

// members calls fn for each member of g, under the read lock (fn must not
// call back into the router).
func (r *router) members(g uint32, fn func(q *peer)) {
	r.mu.RLock()
	for q := range r.groups[g] {
		fn(q)
	}
	r.mu.RUnlock()
}

func (r *router) hasMonitors() bool {
	return r.monitors.Load() > 0
}

// snapshot returns the bound peers.
func (r *router) snapshot() []*peer {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*peer, 0, len(r.ports))
	for _, p := range r.ports {
		out = append(out, p)
	}
	return out
}

// groupsOf returns p's groups.
func (r *router) groupsOf(p *peer) []uint32 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]uint32, 0, len(p.groups))
	for g := range p.groups {
		out = append(out, g)
	}
	return out
}

func (r *router) count() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.ports)
}
