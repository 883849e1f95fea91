package genl

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every controller notification about a family makes the cache forget it
// (by name and by ID), to be asked for again on the next lookup: FreeBSD
// announces NEWFAMILY before the family's operations and groups exist and
// says nothing when groups are added, so an announcement is never taken as
// the family's description.
func TestCacheApplyForgets(t *testing.T) {
	demo := Family{ID: 18, Name: "demo", Groups: []Group{{ID: 19, Name: "events"}}}
	other := Family{ID: 20, Name: "other"}
	tests := []struct {
		name  string
		cmd   uint8
		about Family
		want  []string // names still cached
	}{
		{name: "new family", cmd: CmdNewFamily, about: Family{ID: 18, Name: "demo"}, want: []string{"other"}},
		{name: "new family, unknown", cmd: CmdNewFamily, about: Family{ID: 30, Name: "new"}, want: []string{"demo", "other"}},
		{name: "new family reusing an ID", cmd: CmdNewFamily, about: Family{ID: 20, Name: "renamed"}, want: []string{"demo"}},
		{name: "del family", cmd: CmdDelFamily, about: Family{ID: 18, Name: "demo"}, want: []string{"other"}},
		{name: "new group", cmd: CmdNewMcastGrp, about: Family{ID: 18, Name: "demo", Groups: []Group{{ID: 21, Name: "x"}}}, want: []string{"other"}},
		{name: "del group", cmd: CmdDelMcastGrp, about: Family{ID: 18, Name: "demo", Groups: []Group{{ID: 19, Name: "events"}}}, want: []string{"other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var k cache
			k.setOn(true, 0)
			_, gen, _ := k.lookup("demo")
			d, o := demo.Clone(), other.Clone()
			k.store(&d, gen)
			k.store(&o, gen)
			k.apply(&tt.about)
			var got []string
			for _, name := range []string{"demo", "other", "new", "renamed"} {
				if f, _, _ := k.lookup(name); f != nil {
					got = append(got, name)
				}
			}
			assert.Equal(t, tt.want, got)
			_, after, _ := k.lookup("demo")
			assert.Equal(t, gen+1, after, "a stale answer in flight is not stored")
		})
	}
}

// With a maximum age (on FreeBSD), an entry older than it is a miss.
func TestCacheMaxAge(t *testing.T) {
	now := time.Unix(1000, 0)
	k := cache{now: func() time.Time { return now }}
	k.setOn(true, time.Second)
	_, gen, on := k.lookup("demo")
	require.True(t, on)
	k.store(&Family{ID: 18, Name: "demo"}, gen)

	tests := []struct {
		after time.Duration
		hit   bool
	}{
		{0, true},
		{999 * time.Millisecond, true},
		{time.Second, true},
		{time.Second + 1, false},
		{time.Hour, false},
	}
	start := now
	for _, tt := range tests {
		now = start.Add(tt.after)
		f, _, _ := k.lookup("demo")
		assert.Equal(t, tt.hit, f != nil, "after %v", tt.after)
	}

	// Without a maximum age, entries stay until a notification.
	k.setOn(true, 0)
	_, gen, _ = k.lookup("demo")
	k.store(&Family{ID: 18, Name: "demo"}, gen)
	now = start.Add(24 * time.Hour)
	f, _, _ := k.lookup("demo")
	assert.NotNil(t, f)
}
