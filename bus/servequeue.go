package bus

import "github.com/nlbus/netlink"

// reqQueue is Serve's read-ahead: the requests its reader copied out of the
// Conn's receive buffer, oldest first. The oldest is the one being served:
// it stays in place until its handler and its answer are done, so that the
// reader does not write over the bytes the handler borrows.
//
// The entries are a ring of fixed length and their payloads a ring of bytes
// in which each payload is contiguous (one that does not fit before the end
// of the buffer starts again at its beginning); both are allocated once, so
// queueing a request allocates nothing. The caller serialises all calls.
type reqQueue struct {
	ents    []queuedReq
	head, n int
	buf     []byte
	wr      int // where the next payload goes, when n > 0
}

// queuedReq is one request held by a reqQueue.
type queuedReq struct {
	hdr      netlink.Header
	port     uint32
	creds    netlink.Credentials
	hasCreds bool
	// gone: the caller's port was released after this was read; it is
	// dropped when it comes to the front, never served.
	gone     bool
	off, len int
}

func newReqQueue(entries, bytes int) reqQueue {
	return reqQueue{ents: make([]queuedReq, entries), buf: make([]byte, bytes)}
}

// place returns where a payload of size bytes (> 0) goes, or -1 when it
// does not fit now. An empty queue takes any size, growing its buffer for
// a payload larger than the whole buffer.
func (q *reqQueue) place(size int) int {
	if q.n == 0 {
		if size > len(q.buf) {
			q.buf = make([]byte, size)
		}
		return 0
	}
	r := q.ents[q.head].off
	if q.wr > r {
		// The payloads lie in [r, wr): room after them, or before them
		// from the start. (Payloads are never empty, so wr == r with
		// n > 0 is the wrapped case below, full.)
		if q.wr+size <= len(q.buf) {
			return q.wr
		}
		if size <= r {
			return 0
		}
		return -1
	}
	// Wrapped: [r, end of the last payload before the end) and [0, wr).
	if q.wr+size <= r {
		return q.wr
	}
	return -1
}

// push copies m (a request with a non-empty payload) in; it reports false,
// changing nothing, when there is no room for it.
func (q *reqQueue) push(m *netlink.Message) bool {
	if q.n == len(q.ents) {
		return false
	}
	size := len(m.Data)
	off := q.place(size)
	if off < 0 {
		return false
	}
	copy(q.buf[off:off+size], m.Data)
	e := &q.ents[(q.head+q.n)%len(q.ents)]
	*e = queuedReq{hdr: m.Header, port: m.Addr.Port, off: off, len: size}
	if m.Creds != nil {
		e.creds, e.hasCreds = *m.Creds, true
	}
	q.wr = off + size
	q.n++
	return true
}

// front returns the oldest request; the queue must not be empty.
func (q *reqQueue) front() *queuedReq { return &q.ents[q.head] }

// payload returns e's bytes, borrowed until e is popped.
func (q *reqQueue) payload(e *queuedReq) []byte { return q.buf[e.off : e.off+e.len : e.off+e.len] }

// pop removes the oldest request.
func (q *reqQueue) pop() {
	q.ents[q.head] = queuedReq{}
	q.head = (q.head + 1) % len(q.ents)
	q.n--
	if q.n == 0 {
		q.head, q.wr = 0, 0
	}
}

// markGone marks the requests of port as gone, from the from'th oldest on
// (1 skips the one being served), and returns how many it marked.
func (q *reqQueue) markGone(port uint32, from int) int {
	marked := 0
	for i := from; i < q.n; i++ {
		e := &q.ents[(q.head+i)%len(q.ents)]
		if e.port == port && !e.gone {
			e.gone = true
			marked++
		}
	}
	return marked
}
