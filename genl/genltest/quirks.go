package genltest

import (
	"fmt"
	"slices"

	"github.com/nlbus/netlink/genl"
)

// LoneDumpQuirk reconciles one known difference between Linux's controller
// and one that answers GETPOLICY from a single description (genlctrl, so
// genltest and the bus): Linux 6.18 leaves out of a one-operation policy
// dump (kop, op's answer alone) a dump table without attributes that its
// full dump (all) shows for that operation (netdev's op 1). When kop and
// all disagree that way, LoneDumpQuirk drops that dump table from ours (the
// other controller's answer for op, which shows it as the full dump does)
// and reports true. It returns an error when the kernel's two answers
// disagree in any other way.
func LoneDumpQuirk(all *genl.Policy, op uint32, kop, ours *genl.Policy) (bool, error) {
	full, ok := all.ForOp(op)
	if !ok || len(kop.Ops) != 1 || len(full.Ops) != 1 || kop.Ops[0].HasDump == full.Ops[0].HasDump {
		return false, nil
	}
	if d, ok := full.Table(full.Ops[0].Dump); ok && len(d.Attrs) != 0 {
		return false, fmt.Errorf("genltest: op %d: the kernel's dumps disagree about a dump table with attributes", op)
	}
	if len(ours.Ops) != 1 || !ours.Ops[0].HasDump {
		return false, fmt.Errorf("genltest: op %d: no dump table to drop in %+v", op, ours.Ops)
	}
	idx := ours.Ops[0].Dump
	ours.Ops[0].HasDump, ours.Ops[0].Dump = false, 0
	// genl shows a referenced table without attributes; no longer
	// referenced, it goes.
	if tab, ok := ours.Table(idx); ok && len(tab.Attrs) == 0 && (!ours.Ops[0].HasDo || ours.Ops[0].Do != idx) {
		ours.Tables = slices.DeleteFunc(ours.Tables, func(t genl.PolicyTable) bool { return t.Index == idx })
	}
	return true, nil
}
