package genl

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/nlbus/netlink"
)

// cache holds the families a Conn resolved by name, kept true by the
// controller's notify group. It is on only while a watcher runs. gen counts
// the changes applied: an answer from the controller is stored only if no
// change came in between the request and the store, so a removal seen
// meanwhile is never undone by a stale answer.
type cache struct {
	mu     sync.RWMutex
	on     bool
	gen    uint64
	byName map[string]*Family // entries are never modified once stored
}

// lookup returns the cached family, or nil, with the generation to pass to
// store and whether the cache is on.
func (k *cache) lookup(name string) (*Family, uint64, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if !k.on {
		return nil, 0, false
	}
	return k.byName[name], k.gen, true
}

func (k *cache) generation() (uint64, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.gen, k.on
}

// store caches f, which the cache then owns, if nothing changed since gen.
func (k *cache) store(f *Family, gen uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.on && k.gen == gen && f.Name != "" {
		k.byName[f.Name] = f
	}
}

// setOn turns the cache on or off; either way it starts empty.
func (k *cache) setOn(on bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.on = on
	k.gen++
	k.byName = make(map[string]*Family)
}

// invalidate empties the cache: notifications were lost.
func (k *cache) invalidate() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	clear(k.byName)
}

// apply applies a controller notification about f.
func (k *cache) apply(cmd uint8, f *Family) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	if !k.on {
		return
	}
	// A family's ID may be reused by another name: drop any entry that
	// holds f's ID under another name.
	for name, e := range k.byName {
		if e.ID == f.ID && name != f.Name {
			delete(k.byName, name)
		}
	}
	old := k.byName[f.Name]
	switch cmd {
	case CmdNewFamily:
		k.byName[f.Name] = f
	case CmdDelFamily:
		delete(k.byName, f.Name)
	case CmdNewMcastGrp:
		if old == nil || old.ID != f.ID {
			return
		}
		nf := old.Clone()
		for _, g := range f.Groups {
			// Replace a known group in place, keeping the controller's
			// order (Linux re-announces every group after NEWFAMILY).
			match := func(o Group) bool { return o.ID == g.ID || o.Name == g.Name }
			if i := slices.IndexFunc(nf.Groups, match); i >= 0 {
				nf.Groups[i] = g
				nf.Groups = slices.Concat(nf.Groups[:i+1], slices.DeleteFunc(nf.Groups[i+1:], match))
				continue
			}
			nf.Groups = append(nf.Groups, g)
		}
		k.byName[f.Name] = &nf
	case CmdDelMcastGrp:
		if old == nil || old.ID != f.ID {
			return
		}
		nf := old.Clone()
		for _, g := range f.Groups {
			nf.Groups = slices.DeleteFunc(nf.Groups, func(o Group) bool { return o.ID == g.ID })
		}
		k.byName[f.Name] = &nf
	}
}

// EnableCache turns on the Conn's family cache and keeps it true with sub,
// a second connection over the same transport (for the kernel,
// netlink.Dial(netlink.Generic, nil)) that the Conn takes over and closes on
// Close. It resolves the controller's "notify" group by name, joins it on
// sub, and starts a goroutine that applies the controller's NEWFAMILY,
// DELFAMILY, NEWMCAST_GRP and DELMCAST_GRP notifications to the cache. When
// notifications were lost (an overrun), the cache is emptied and refills on
// demand; if sub fails, the cache turns off and lookups go to the
// controller again.
//
// With the cache on, LookupFamily, GroupID, JoinGroup, ExecuteFamily and
// DumpFamily resolve names without a round trip after the first. GetFamily
// always asks the controller.
//
// When EnableCache fails, sub stays the caller's to close. On FreeBSD, some
// releases' nlctrl advertises its notify group but may not deliver to it
// (see docs/DESIGN.md); there, a family unloaded and loaded again could keep
// a stale ID in the cache, so prefer GetFamily for long-lived processes
// until the FreeBSD test job has confirmed the group works on the release.
func (c *Conn) EnableCache(ctx context.Context, sub *netlink.Conn) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return netlink.ErrClosed
	case c.sub != nil:
		c.mu.Unlock()
		return errCacheEnabled
	}
	c.sub = sub // reserve the slot while the group is resolved
	c.mu.Unlock()

	fail := func(err error) error {
		c.mu.Lock()
		c.sub = nil
		c.mu.Unlock()
		return err
	}
	ctrl, err := c.GetFamily(ctx, ctrlName)
	if err != nil {
		return fail(err)
	}
	g, ok := ctrl.Group(ctrlNotifyGroup)
	if !ok {
		return fail(&NotFoundError{Family: ctrlName, Group: ctrlNotifyGroup})
	}
	if err := sub.JoinGroup(g.ID); err != nil {
		return fail(err)
	}

	c.mu.Lock()
	if c.closed {
		c.sub = nil
		c.mu.Unlock()
		return netlink.ErrClosed
	}
	wctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	// Joined before the cache turns on: every answer cached from now on is
	// followed by the notifications of its later changes.
	c.cache.setOn(true)
	go c.watch(wctx, sub, c.done)
	c.mu.Unlock()
	return nil
}

// watch applies the controller's notifications received on sub to the cache
// until ctx is cancelled or sub fails.
func (c *Conn) watch(ctx context.Context, sub *netlink.Conn, done chan struct{}) {
	defer close(done)
	defer c.cache.setOn(false)
	for {
		msgs, err := sub.Receive(ctx)
		if err != nil {
			if errors.Is(err, netlink.ErrOverrun) && ctx.Err() == nil {
				c.cache.invalidate()
				continue
			}
			return
		}
		for _, m := range msgs {
			if uint16(m.Header.Type) != CtrlID {
				continue
			}
			gm, err := ParseMessage(m.Data)
			if err != nil {
				c.cache.invalidate()
				continue
			}
			switch gm.Header.Command {
			case CmdNewFamily, CmdDelFamily, CmdNewMcastGrp, CmdDelMcastGrp:
			default:
				continue
			}
			f := new(Family)
			if err := f.UnmarshalAttributes(gm.Data); err != nil || f.Name == "" {
				c.cache.invalidate()
				continue
			}
			c.cache.apply(gm.Header.Command, f)
		}
	}
}
