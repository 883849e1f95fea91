package bus

import (
	"context"

	"github.com/nlbus/netlink"
)

// Ports asks the daemon on c for its port table.
func Ports(ctx context.Context, c *netlink.Conn) ([]PortInfo, error) {
	msg, err := ControlMessage(CmdGetPort, 0, nil)
	if err != nil {
		return nil, err
	}
	var out []PortInfo
	for m, err := range c.Dump(ctx, msg) {
		if err != nil {
			return out, err
		}
		p, err := ParsePortInfo(m.Data)
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

// GetStats asks the daemon on c for its counters.
func GetStats(ctx context.Context, c *netlink.Conn) (Stats, error) {
	msg, err := ControlMessage(CmdGetStats, 0, nil)
	if err != nil {
		return Stats{}, err
	}
	replies, err := c.Execute(ctx, msg)
	if err != nil {
		return Stats{}, err
	}
	for _, m := range replies {
		if m.Header.Type == FamilyID {
			return ParseStats(m.Data)
		}
	}
	return Stats{}, &netlink.OpError{Op: "stats", Err: errNoReply}
}

var errNoReply = errorString("nlbus: the daemon sent no reply")

type errorString string

func (e errorString) Error() string { return string(e) }
