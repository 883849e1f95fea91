package genl

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/compat"
)

// cache holds the families a Conn resolved by name, kept true by the
// controller's notify group. It is on only while a watcher runs. gen counts
// the changes applied: an answer from the controller is stored only if no
// change came in between the request and the store, so a removal seen
// meanwhile is never undone by a stale answer.
//
// A notification is never taken as a description of the family: FreeBSD
// announces NEWFAMILY before the family's operations and groups exist, and
// sends nothing when groups are added later. Any notification about a
// family makes the cache forget it, and the next lookup asks the
// controller. Where notifications cannot be relied on (FreeBSD, see
// EnableCache), entries also expire after maxAge.
type cache struct {
	mu     sync.RWMutex
	on     bool
	gen    uint64
	maxAge time.Duration // 0: entries live until a notification
	byName map[string]cacheEntry

	now func() time.Time // time.Now; tests replace it
}

type cacheEntry struct {
	f  *Family // never modified once stored
	at time.Time
}

func (k *cache) clock() time.Time {
	if k.now != nil {
		return k.now()
	}
	return time.Now()
}

// lookup returns the cached family, or nil, with the generation to pass to
// store and whether the cache is on.
func (k *cache) lookup(name string) (*Family, uint64, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if !k.on {
		return nil, 0, false
	}
	e, ok := k.byName[name]
	if !ok || (k.maxAge > 0 && k.clock().Sub(e.at) > k.maxAge) {
		return nil, k.gen, true
	}
	return e.f, k.gen, true
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
		var at time.Time
		if k.maxAge > 0 {
			at = k.clock()
		}
		k.byName[f.Name] = cacheEntry{f: f, at: at}
	}
}

// setOn turns the cache on or off, with entries living at most maxAge
// (0: until a notification); either way it starts empty.
func (k *cache) setOn(on bool, maxAge time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.on = on
	k.maxAge = maxAge
	k.gen++
	k.byName = make(map[string]cacheEntry)
}

// invalidate empties the cache: notifications were lost.
func (k *cache) invalidate() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	clear(k.byName)
}

// apply applies a controller notification about f (NEWFAMILY, DELFAMILY,
// NEWMCAST_GRP or DELMCAST_GRP): the family is forgotten, under its name
// and under its ID (which another name may have held), and asked for again
// on the next lookup.
func (k *cache) apply(f *Family) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	for name, e := range k.byName {
		if name == f.Name || e.f.ID == f.ID {
			delete(k.byName, name)
		}
	}
}

// FreeBSDCacheMaxAge is how long, on FreeBSD, the cache trusts a family it
// fetched before asking the controller again.
const FreeBSDCacheMaxAge = time.Second

// defaultCacheMaxAge is the cache's maximum age on this OS: 0 (until a
// notification) where the controller's notifications can be relied on.
func defaultCacheMaxAge() time.Duration {
	if compat.Current() == compat.FreeBSD {
		return FreeBSDCacheMaxAge
	}
	return 0
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
// A notification never fills the cache: any notification about a family
// makes the cache forget it, and the next lookup asks the controller.
//
// On FreeBSD, entries also expire FreeBSDCacheMaxAge after they were
// fetched: FreeBSD's nlctrl announces NEWFAMILY before the family's
// operations and groups exist, announces nothing when groups are added, and
// its newest revision sends its notifications to group 0 while advertising
// group 48, so notifications alone cannot keep the cache true there (see
// docs/DESIGN.md). There, a controller that advertises no notify group
// still gets a cache, kept true by the age bound alone.
//
// When EnableCache fails, sub stays the caller's to close.
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
	switch g, ok := ctrl.Group(ctrlNotifyGroup); {
	case ok:
		if err := sub.JoinGroup(g.ID); err != nil {
			return fail(err)
		}
	case c.cacheMaxAge == 0:
		return fail(&NotFoundError{Family: ctrlName, Group: ctrlNotifyGroup})
	}
	// Without a notify group, entries that expire keep the cache true
	// enough: sub then receives nothing until Close.

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
	c.cache.setOn(true, c.cacheMaxAge)
	go c.watch(wctx, sub, c.done)
	c.mu.Unlock()
	return nil
}

// watch applies the controller's notifications received on sub to the cache
// until ctx is cancelled or sub fails.
func (c *Conn) watch(ctx context.Context, sub *netlink.Conn, done chan struct{}) {
	defer close(done)
	defer c.cache.setOn(false, 0)
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
			c.cache.apply(f)
		}
	}
}
