package bus

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/genl"
	"golang.org/x/sys/unix"
)

// routeState is a read loop's scratch: the peers a batch touched (each
// flushed once after the batch, as nats-server's flushClients does) and a
// buffer to compose replies in.
type routeState struct {
	touched map[*peer]struct{}
	reply   []byte
	frame   []byte
	// loop is the event loop whose goroutine routes with this state, nil
	// in a goroutine that may wait (peerio_linux.go).
	loop *ioLoop
}

func newRouteState() *routeState {
	return &routeState{touched: make(map[*peer]struct{})}
}

func (rs *routeState) touch(q *peer) { rs.touched[q] = struct{}{} }

func (rs *routeState) flush() {
	for q := range rs.touched {
		q.flush()
	}
	clear(rs.touched)
	if cap(rs.reply) > keepOutCap {
		rs.reply = nil
	}
}

func utoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// appendError appends an NLMSG_ERROR message answering the request whose
// header is hdr (16 bytes, or fewer when none could be read), with errno
// (0 for an ACK) and, when msg is not empty, NLMSGERR_ATTR_MSG. The echoed
// request is capped to its header (NLM_F_CAPPED).
func appendError(b []byte, hdr []byte, errno syscall.Errno, msg string) []byte {
	var h [16]byte
	copy(h[:], hdr)
	flags := netlink.Capped
	l := 16 + 4 + 16
	if msg != "" {
		flags |= netlink.AckTLVs
		l += netlink.Align(4 + len(msg) + 1)
	}
	off := len(b)
	b = append(b, make([]byte, l)...)
	m := b[off:]
	ne.PutUint32(m[0:], uint32(l))
	ne.PutUint16(m[4:], uint16(netlink.Error))
	ne.PutUint16(m[6:], uint16(flags))
	copy(m[8:12], h[8:12])   // the request's sequence number
	copy(m[12:16], h[12:16]) // and port
	ne.PutUint32(m[16:], uint32(-int32(errno)))
	copy(m[20:36], h[:])
	if msg != "" {
		ne.PutUint16(m[36:], uint16(4+len(msg)+1))
		ne.PutUint16(m[38:], 1) // NLMSGERR_ATTR_MSG
		copy(m[40:], msg)
	}
	return b
}

// sendReply queues rs.reply (whole messages) for p as frames from src,
// split so that no frame exceeds the maximum datagram size.
func (rs *routeState) sendReply(p *peer, src uint32, flags uint8) {
	b := rs.reply
	limit := p.s.maxDG - EnvelopeLen
	for len(b) > 0 {
		n := 0
		for n < len(b) {
			l := netlink.Align(int(ne.Uint32(b[n:])))
			if n > 0 && n+l > limit {
				break
			}
			n += l
		}
		n = min(n, len(b))
		if p.s.r.hasMonitors() && flags&FlagTransport == 0 {
			rs.monitor(p.s, Envelope{Src: src, Dst: p.port.Load()}, b[:n])
		}
		if !p.enqueue(Envelope{Flags: flags, Src: src, Dst: p.port.Load()}, b[:n], true) {
			p.drop() // a client that does not read its answers is told it lost some
		}
		rs.touch(p)
		b = b[n:]
	}
	rs.reply = rs.reply[:0]
}

// errno of a malformed datagram, by the envelope error.
func frameErrno(err error) syscall.Errno {
	switch {
	case errors.Is(err, ErrBadMagic):
		return unix.EPROTO
	case errors.Is(err, ErrVersion):
		return unix.EPROTONOSUPPORT
	default:
		return unix.EINVAL
	}
}

// firstHeader returns the first netlink header of a frame's payload, if
// 16 bytes of it are there.
func firstHeader(d []byte) []byte {
	if len(d) >= EnvelopeLen+16 {
		return d[EnvelopeLen : EnvelopeLen+16]
	}
	return nil
}

// handle routes one datagram from p. It returns false when p must be
// disconnected.
func (p *peer) handle(d []byte, trunc bool, rs *routeState) bool {
	s := p.s
	if trunc {
		rs.reply = appendError(rs.reply, firstHeader(d), unix.EMSGSIZE,
			fmt.Sprintf("nlbus: datagram exceeds the maximum of %d bytes", s.maxDG))
		rs.sendReply(p, 0, 0)
		return true
	}
	e, err := ParseEnvelope(d)
	if err == nil && int(e.Length) != len(d) {
		err = fmt.Errorf("%w: envelope says %d bytes, datagram has %d", ErrFrameLength, e.Length, len(d))
	}
	if err == nil && e.Flags&^FlagTransport != 0 {
		err = fmt.Errorf("%w: clients may only set the transport flag (%#x)", ErrUnknownFlags, e.Flags)
	}
	if err == nil && e.Dst != 0 && e.Group != 0 {
		err = errors.New("nlbus: a frame has a destination port or a group, not both")
	}
	var it netlink.MessageIter
	if err == nil {
		payload := d[EnvelopeLen:]
		if len(payload) == 0 {
			err = errors.New("nlbus: frame carries no netlink message")
		}
		it.Reset(payload)
		for it.Next() {
		}
		if it.Err() != nil {
			err = fmt.Errorf("nlbus: malformed netlink message: %w", it.Err())
		}
	}
	if err != nil {
		return p.bad(d, err, rs)
	}
	p.sent.Add(1)
	s.routed.Add(1)
	payload := d[EnvelopeLen:]
	src := p.port.Load()
	out := Envelope{Flags: FlagCreds, Src: src, Dst: e.Dst, Group: e.Group, PID: p.cr.PID, UID: p.cr.UID, GID: p.cr.GID}
	if s.r.hasMonitors() {
		rs.monitor(s, out, payload)
	}
	switch {
	case e.Group != 0:
		p.multicast(out, payload, rs)
	case e.Dst != 0:
		p.unicast(out, payload, rs)
	default:
		p.control(e.Flags&FlagTransport, payload, rs)
	}
	return true
}

// bad answers a malformed datagram and reports whether p may stay.
func (p *peer) bad(d []byte, err error, rs *routeState) bool {
	s := p.s
	s.bad.Add(1)
	p.badCount++
	errno := frameErrno(err)
	msg := err.Error()
	keep := p.badCount < s.maxBad
	if errno == unix.EPROTONOSUPPORT {
		keep = false // a client of another version cannot be talked to
	}
	if !keep && errno != unix.EPROTONOSUPPORT {
		msg += "; too many malformed datagrams, disconnecting"
	}
	if s.log.IsDebug() {
		s.log.Debug("malformed datagram", "port", p.port.Load(), "error", err, "count", p.badCount)
	}
	var hdr []byte
	if errno != unix.EPROTO {
		hdr = firstHeader(d) // echoed only from something that is a frame
	}
	rs.reply = appendError(rs.reply, hdr, errno, msg)
	rs.sendReply(p, 0, 0)
	if !keep {
		rs.flush() // the answer goes out before the connection closes
	}
	return keep
}

func (rs *routeState) monitor(s *Server, e Envelope, payload []byte) {
	e.Flags |= FlagMonitor
	s.r.members(GroupMonitor, func(m *peer) {
		if m.enqueue(e, payload, false) {
			rs.touch(m)
		} else {
			m.drop()
			rs.touch(m)
		}
	})
}

func (p *peer) multicast(e Envelope, payload []byte, rs *routeState) {
	if e.Group <= maxReservedGroup {
		p.refuse(payload, 0, unix.EPERM, "nlbus: group "+utoa(e.Group)+" is reserved for the daemon", rs)
		return
	}
	if !p.maySend(0, e.Group, payload, rs) {
		return
	}
	p.s.r.members(e.Group, func(q *peer) {
		if q == p {
			return // like the kernel, a sender does not hear its own multicast
		}
		if !q.enqueue(e, payload, false) {
			q.drop()
		}
		rs.touch(q)
	})
}

// refuse answers each request in payload (NLM_F_REQUEST set) with errno,
// as if from port src; other messages are only counted.
func (p *peer) refuse(payload []byte, src uint32, errno syscall.Errno, msg string, rs *routeState) {
	p.s.refused.Add(1)
	var it netlink.MessageIter
	it.Reset(payload)
	for off := 0; it.Next(); off = it.Offset() {
		m := it.Message()
		if m.Header.Flags&netlink.Request == 0 {
			continue
		}
		rs.reply = appendError(rs.reply, payload[off:off+16], errno, msg)
	}
	if len(rs.reply) > 0 {
		rs.sendReply(p, src, 0)
	}
}

func (p *peer) unicast(e Envelope, payload []byte, rs *routeState) {
	q := p.s.r.lookup(e.Dst)
	if q == nil {
		if p.maySend(e.Dst, 0, payload, rs) {
			p.refuse(payload, e.Dst, unix.ECONNREFUSED, "nlbus: no port "+utoa(e.Dst)+" on the bus", rs)
		}
		return
	}
	var via0, failed bool
	if p.families.Load() > 0 {
		via0, failed = p.answersVia0(q, payload)
	}
	if failed {
		// The rest of the answers to a request that already failed for
		// its caller (ENOBUFS, waitAnswer): dropped and counted; the
		// final one ends the record.
		p.s.refused.Add(1)
		p.answeredBy(q, payload)
		return
	}
	if !via0 && !p.maySend(e.Dst, 0, payload, rs) {
		return // a family's answers to its callers are not sends the rules see
	}
	if via0 {
		// An answer of a family's owner to a request that went to port 0:
		// it comes from port 0, as a kernel family's answer would.
		e = Envelope{Dst: e.Dst}
	}
	if !q.enqueue(e, payload, false) {
		if !via0 {
			p.refuse(payload, e.Dst, unix.EAGAIN, "nlbus: the receive queue of port "+utoa(e.Dst)+" is full", rs)
			return
		}
		// A family's answer waits for room, as a kernel dump waits for
		// its reader (registry.go).
		if !p.waitAnswer(q, e, payload, rs) {
			return
		}
	}
	rs.touch(q)
	// Remember requests relayed to q, so they fail at once if q goes; and
	// forget the requests of q's that this message answers.
	var it netlink.MessageIter
	it.Reset(payload)
	for off := 0; it.Next(); off = it.Offset() {
		m := it.Message()
		if m.Header.Flags&netlink.Request != 0 {
			// Only a request that asks for an answer (an ACK or a dump) is
			// owed one; a bare NLM_F_REQUEST is one-way.
			if m.Header.Flags&(netlink.Acknowledge|netlink.Dump) != 0 {
				q.track(p, payload[off:off+16], m.Header)
			}
		} else {
			p.answered(q, m.Header)
		}
	}
}

// track records a request from src relayed to q.
func (q *peer) track(src *peer, hdr []byte, h netlink.Header) {
	q.imu.Lock()
	defer q.imu.Unlock()
	if q.inflight == nil {
		q.inflight = make(map[reqKey]reqInfo)
	}
	if len(q.inflight) >= q.s.maxInfl {
		// Full: forget the requests of callers that are gone, whose
		// answers nobody waits for any more.
		for k := range q.inflight {
			if k.src.gone.Load() {
				delete(q.inflight, k)
			}
		}
		if len(q.inflight) >= q.s.maxInfl {
			return
		}
	}
	var ri reqInfo
	copy(ri.hdr[:], hdr)
	ri.ack = h.Flags&netlink.Acknowledge != 0
	q.inflight[reqKey{src, h.Sequence}] = ri
}

// answeredBy forgets the requests of requester that the answers in
// payload (sent by p) end.
func (p *peer) answeredBy(requester *peer, payload []byte) {
	var it netlink.MessageIter
	it.Reset(payload)
	for it.Next() {
		if h := it.Header(); h.Flags&netlink.Request == 0 {
			p.answered(requester, h)
		}
	}
}

// answered forgets the request of requester that reply h (sent by p) ends.
func (p *peer) answered(requester *peer, h netlink.Header) {
	p.imu.Lock()
	defer p.imu.Unlock()
	k := reqKey{requester, h.Sequence}
	ri, ok := p.inflight[k]
	if !ok {
		return
	}
	if h.Type == netlink.Error || h.Type == netlink.Done || (!ri.ack && h.Flags&netlink.Multi == 0) {
		delete(p.inflight, k)
	}
}

// notifyReleased tells GroupPorts that port was released.
func (rs *routeState) notifyReleased(s *Server, port uint32, cr creds) {
	msg, err := ControlMessage(CmdPortReleased, 0, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(AttrPort, port)
		ae.Int32(AttrPID, cr.PID)
		ae.Uint32(AttrUID, cr.UID)
		ae.Uint32(AttrGID, cr.GID)
	})
	if err != nil {
		return
	}
	msg.Header.Flags = 0
	b, err := netlink.AppendMessage(rs.frame[:0], msg)
	if err != nil {
		return
	}
	rs.frame = b
	e := Envelope{Group: GroupPorts}
	s.r.members(GroupPorts, func(q *peer) {
		if !q.enqueue(e, b, false) {
			q.drop()
		}
		rs.touch(q)
	})
	if s.r.hasMonitors() {
		rs.monitor(s, e, b)
	}
}

// control serves the bus-control requests of a frame to port 0.
func (p *peer) control(tflag uint8, payload []byte, rs *routeState) {
	var it netlink.MessageIter
	it.Reset(payload)
	for off := 0; it.Next(); off = it.Offset() {
		m := it.Message()
		h := m.Header
		hdr := payload[off : off+16]
		if h.Flags&netlink.Request == 0 {
			continue // the daemon answers requests only, as the kernel does
		}
		var errno syscall.Errno
		var msg string
		switch h.Type {
		case netlink.Noop:
		case netlink.HeaderType(genl.CtrlID):
			rs.reply = p.s.reg.Handle(rs.reply, *m, p.port.Load())
			continue
		case FamilyID:
			errno, msg = p.command(h, m.Data, rs)
		default:
			if p.toFamily(*m, payload[off:it.Offset()], rs) {
				continue
			}
			errno, msg = unix.EOPNOTSUPP, fmt.Sprintf("nlbus: the daemon has no family with type %#x", uint16(h.Type))
		}
		if errno != 0 || h.Flags&netlink.Acknowledge != 0 {
			rs.reply = appendError(rs.reply, hdr, errno, msg)
		}
	}
	if len(rs.reply) > 0 {
		rs.sendReply(p, 0, tflag)
	}
}

// appendGenl appends a bus-control message with command cmd answering h.
func (p *peer) appendGenl(rs *routeState, h netlink.Header, flags netlink.HeaderFlags, cmd uint8, enc func(ae *netlink.AttributeEncoder)) {
	off := len(rs.reply)
	b := append(rs.reply, make([]byte, 16)...)
	b = append(b, cmd, FamilyVersion, 0, 0)
	var ae netlink.AttributeEncoder
	ae.Reset(b)
	enc(&ae)
	b, err := ae.Bytes()
	if err != nil {
		rs.reply = rs.reply[:off]
		return
	}
	netlink.MarshalHeader(b[off:], netlink.Header{
		Length: uint32(len(b) - off), Type: FamilyID, Flags: flags,
		Sequence: h.Sequence, PID: h.PID,
	})
	rs.reply = b
}

func (p *peer) command(h netlink.Header, data []byte, rs *routeState) (syscall.Errno, string) {
	s := p.s
	var (
		port, group uint32
		hasPort     bool
	)
	if len(data) > 0 && data[0] == CmdNewFamily {
		// A registration carries an attribute per operation, table and
		// group (ethtool's: over a hundred), more than ParseControl looks
		// at; ParseFamilySpec bounds them itself (PROTOCOL.md §13.2).
		return p.newFamily(h, data, rs)
	}
	cmd, err := ParseControl(data, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrPort:
			port, hasPort = ad.Uint32(), true
		case AttrGroup:
			group = ad.Uint32()
		}
	})
	if err != nil {
		return unix.EINVAL, "nlbus: malformed bus-control message: " + err.Error()
	}
	switch cmd {
	case CmdHello:
		p.appendGenl(rs, h, 0, CmdHello, p.helloAttrs)
	case CmdBind:
		if !hasPort || port == 0 {
			return unix.EINVAL, "nlbus: bind needs a non-zero port (attribute 2)"
		}
		if p.families.Load() > 0 {
			return unix.EBUSY, "nlbus: a connection that owns families keeps its port"
		}
		if port <= maxPrivPort && !s.privileged(p.cr) {
			return unix.EACCES, "nlbus: ports below 1024 are for root"
		}
		old, holder := s.r.bind(p, port)
		if holder != nil {
			return unix.EADDRINUSE, fmt.Sprintf("nlbus: port %d is in use (pid %d)", port, holder.cr.PID)
		}
		if old != port {
			if s.log.IsDebug() {
				s.log.Debug("bound", "old", old, "port", port)
			}
			rs.notifyReleased(s, old, p.cr)
		}
	case CmdJoin:
		switch {
		case group == 0:
			return unix.EINVAL, "nlbus: join needs a non-zero group (attribute 3)"
		case group == GroupMonitor && !s.privileged(p.cr):
			return unix.EPERM, fmt.Sprintf("nlbus: the monitor group is for root and group %d", s.MonitorGID)
		case group <= maxReservedGroup && group != GroupPorts && group != GroupMonitor:
			return unix.EINVAL, "nlbus: group " + utoa(group) + " is reserved"
		}
		if errno, msg := p.mayJoin(group); errno != 0 {
			return errno, msg
		}
		if !s.r.join(p, group, maxGroups) {
			return unix.ENOSPC, fmt.Sprintf("nlbus: at most %d groups per connection", maxGroups)
		}
	case CmdLeave:
		if group == 0 {
			return unix.EINVAL, "nlbus: leave needs a non-zero group (attribute 3)"
		}
		s.r.leave(p, group)
	case CmdGetPort:
		if hasPort {
			q := s.r.lookup(port)
			if q == nil {
				return unix.ENOENT, "nlbus: no port " + utoa(port)
			}
			p.appendGenl(rs, h, 0, CmdGetPort, q.portAttrs)
			break
		}
		if h.Flags&netlink.Dump != netlink.Dump {
			return unix.EINVAL, "nlbus: get-port needs a port (attribute 2) or NLM_F_DUMP"
		}
		for _, q := range s.r.snapshot() {
			p.appendGenl(rs, h, netlink.Multi, CmdGetPort, q.portAttrs)
		}
		off := len(rs.reply)
		rs.reply = append(rs.reply, make([]byte, 20)...)
		netlink.MarshalHeader(rs.reply[off:], netlink.Header{Length: 20, Type: netlink.Done, Flags: netlink.Multi, Sequence: h.Sequence, PID: h.PID})
		return 0, ""
	case CmdGetStats:
		p.appendGenl(rs, h, 0, CmdGetStats, s.statsAttrs)
	case CmdDelFamily:
		return p.delFamily(data, rs)
	case CmdGetDescription:
		return p.getDescription(h, data, rs)
	default:
		return unix.EOPNOTSUPP, fmt.Sprintf("nlbus: unknown bus-control command %d", cmd)
	}
	return 0, ""
}

func (p *peer) helloAttrs(ae *netlink.AttributeEncoder) {
	ae.Uint32(AttrVersion, Version)
	ae.Uint32(AttrPort, p.port.Load())
	ae.Uint32(AttrMaxDatagram, uint32(p.s.maxDG))
}

func (q *peer) portAttrs(ae *netlink.AttributeEncoder) {
	ae.Uint32(AttrPort, q.port.Load())
	ae.Int32(AttrPID, q.cr.PID)
	ae.Uint32(AttrUID, q.cr.UID)
	ae.Uint32(AttrGID, q.cr.GID)
	groups := q.s.r.groupsOf(q)
	tok := ae.BeginNested(AttrGroups)
	for _, g := range groups {
		ae.Uint32(AttrGroup, g)
	}
	ae.EndNested(tok)
	ae.Uint64(AttrSent, q.sent.Load())
	ae.Uint64(AttrDelivered, q.delivered.Load())
	ae.Uint64(AttrDropped, q.dropped.Load())
	b, f := q.queueDepth()
	ae.Uint32(AttrQueueBytes, uint32(b))
	ae.Uint32(AttrQueueFrames, uint32(f))
}

func (s *Server) statsAttrs(ae *netlink.AttributeEncoder) {
	ae.Uint32(AttrVersion, Version)
	ae.Int32(AttrServerPID, s.pid)
	ae.Uint64(AttrUptime, uint64(time.Since(s.start).Milliseconds()))
	ae.Uint32(AttrPorts, uint32(s.r.count()))
	ae.Uint64(AttrConnections, s.conns.Load())
	ae.Uint64(AttrRouted, s.routed.Load())
	ae.Uint64(AttrDropped, s.dropped.Load())
	ae.Uint64(AttrRefused, s.refused.Load())
	ae.Uint64(AttrBadFrames, s.bad.Load())
	ae.Uint32(AttrMaxDatagram, uint32(s.maxDG))
	ae.Uint32(AttrQueueLimit, uint32(s.qBytes))
	s.accessAttrs(ae)
}

// sendHello queues the hello frame for a new connection.
func (p *peer) sendHello() {
	rs := newRouteState()
	p.appendGenl(rs, netlink.Header{PID: p.port.Load()}, 0, CmdHello, p.helloAttrs)
	rs.sendReply(p, 0, 0)
	rs.flush()
}
