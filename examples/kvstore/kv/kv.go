// Package kv is the kvstore example's family: a key-value store served on
// the nlbus bus as the generic-netlink family "kvstore", with the commands
// set, get, delete and list (a dump), and a "changes" multicast group that
// hears every set and delete.
//
// Clients need nothing from this package: they reach the family with
// package genl (or `nlbus call kvstore ...`) as they would a kernel
// family. The constants are here for Go clients' convenience.
package kv

import (
	"context"
	_ "embed"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/genlctrl"
)

// Family is the family's name on the bus; Version its version.
const (
	Family  = "kvstore"
	Version = 1
)

// Commands.
const (
	CmdSet    = 1 // key, value: store value under key; an ACK
	CmdGet    = 2 // key: a reply with key and value, or ENOENT
	CmdDelete = 3 // key: remove it; ENOENT if absent
	CmdList   = 4 // dump: one reply (key, value) per entry, in key order; prefix narrows it
	CmdChange = 5 // notification on the "changes" group: key, and value unless deleted
)

// Attributes.
const (
	AttrKey    = 1 // string (NUL-terminated on the wire), 1 to MaxKey bytes
	AttrValue  = 2 // string, up to MaxValue bytes
	AttrPrefix = 3 // string: list only keys that start with it
)

// Limits, checked by the daemon against the registered policy before a
// request reaches the service.
const (
	MaxKey   = 255
	MaxValue = 4096
)

// GroupChanges is the multicast group that hears every change.
const GroupChanges = "changes"

// Description is the family's YNL spec (kvstore.yaml), registered with it
// so that `nlbus call kvstore ...` works by names.
//
//go:embed kvstore.yaml
var Description []byte

// Spec returns the family as the service registers it: its operations
// (named, so that access rules may name them), their policies, its group
// and its description.
func Spec() bus.FamilySpec {
	key := genlctrl.Attr{ID: AttrKey, Type: genl.TypeNulString, MaxLen: MaxKey}
	value := genlctrl.Attr{ID: AttrValue, Type: genl.TypeString, MaxLen: MaxValue}
	prefix := genlctrl.Attr{ID: AttrPrefix, Type: genl.TypeNulString, MaxLen: MaxKey}
	keyOnly := &genlctrl.Table{Attrs: []genlctrl.Attr{key}}
	return bus.FamilySpec{
		Name: Family, Version: Version, MaxAttr: AttrPrefix,
		Ops: []bus.Op{
			{Cmd: CmdSet, Name: "set", Flags: genl.CmdCapDo, DoPolicy: &genlctrl.Table{Attrs: []genlctrl.Attr{key, value}}},
			{Cmd: CmdGet, Name: "get", Flags: genl.CmdCapDo, DoPolicy: keyOnly},
			{Cmd: CmdDelete, Name: "delete", Flags: genl.CmdCapDo, DoPolicy: keyOnly},
			{Cmd: CmdList, Name: "list", Flags: genl.CmdCapDump, DumpPolicy: &genlctrl.Table{Attrs: []genlctrl.Attr{prefix}}},
		},
		Groups:      []string{GroupChanges},
		Description: Description,
	}
}

// Store is the service's state: a map guarded by a mutex (bus.Serve calls
// one handler at a time, but a program may serve and publish from
// several goroutines).
type Store struct {
	mu sync.Mutex
	m  map[string]string
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{m: map[string]string{}} }

// Register registers the family on the bus c is connected to; c owns it
// until it closes.
func Register(ctx context.Context, c *netlink.Conn) (genl.Family, error) {
	return bus.RegisterFamily(ctx, c, Spec())
}

// Serve serves the family registered as fam on c until ctx ends.
func (s *Store) Serve(ctx context.Context, c *netlink.Conn, fam genl.Family) error {
	return bus.Serve(ctx, c, fam, s.Handlers())
}

// Handlers returns the handler of each command.
func (s *Store) Handlers() map[uint8]bus.Handler {
	return map[uint8]bus.Handler{
		CmdSet:    s.set,
		CmdGet:    s.get,
		CmdDelete: s.del,
		CmdList:   s.list,
	}
}

// args are a request's attributes.
type args struct {
	key, value, prefix string
	hasValue           bool // a value may be empty
}

func parse(r *bus.Request) args {
	var a args
	ad := netlink.NewAttributeDecoder(r.Attrs)
	for ad.Next() {
		switch ad.Type() {
		case AttrKey:
			a.key = ad.String()
		case AttrValue:
			a.value, a.hasValue = ad.String(), true
		case AttrPrefix:
			a.prefix = ad.String()
		}
	}
	return a
}

var (
	errNoKey   = &bus.Error{Errno: syscall.EINVAL, Msg: "kvstore: key attribute missing or empty"}
	errNoValue = &bus.Error{Errno: syscall.EINVAL, Msg: "kvstore: value attribute missing"}
)

func notFound(key string) error {
	return &bus.Error{Errno: syscall.ENOENT, Msg: "kvstore: no key " + key}
}

func (s *Store) set(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
	a := parse(r)
	switch {
	case a.key == "":
		return errNoKey
	case !a.hasValue:
		return errNoValue
	}
	s.mu.Lock()
	s.m[a.key] = a.value
	s.mu.Unlock()
	return published(w.Publish(ctx, GroupChanges, CmdChange, func(ae *netlink.AttributeEncoder) {
		ae.String(AttrKey, a.key)
		ae.String(AttrValue, a.value)
	}))
}

// published reports a failed change notification to the caller, whose
// change was nevertheless made.
func published(err error) error {
	if err == nil {
		return nil
	}
	return &bus.Error{Errno: syscall.EIO, Msg: "kvstore: done, but the change notification failed: " + err.Error()}
}

func (s *Store) get(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
	a := parse(r)
	if a.key == "" {
		return errNoKey
	}
	s.mu.Lock()
	v, ok := s.m[a.key]
	s.mu.Unlock()
	if !ok {
		return notFound(a.key)
	}
	return w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) {
		ae.String(AttrKey, a.key)
		ae.String(AttrValue, v)
	})
}

func (s *Store) del(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
	a := parse(r)
	if a.key == "" {
		return errNoKey
	}
	s.mu.Lock()
	_, ok := s.m[a.key]
	delete(s.m, a.key)
	s.mu.Unlock()
	if !ok {
		return notFound(a.key)
	}
	return published(w.Publish(ctx, GroupChanges, CmdChange, func(ae *netlink.AttributeEncoder) {
		ae.String(AttrKey, a.key)
	}))
}

// list streams the entries in key order: each is sent as it is read, so
// a large store is never built into one reply in memory.
func (s *Store) list(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
	a := parse(r)
	s.mu.Lock()
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		if strings.HasPrefix(k, a.prefix) {
			keys = append(keys, k)
		}
	}
	s.mu.Unlock()
	slices.Sort(keys)
	for _, k := range keys {
		s.mu.Lock()
		v, ok := s.m[k]
		s.mu.Unlock()
		if !ok {
			continue // deleted since
		}
		if err := w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) {
			ae.String(AttrKey, k)
			ae.String(AttrValue, v)
		}); err != nil {
			return err
		}
	}
	return nil
}
