package netlink

// callTable maps sequence numbers to the calls in flight. The first few
// live in an array searched in order, the rest in a map made when first
// needed: a Conn usually has one call in flight, and a map's insert and
// delete (which draws a new hash seed each time the map empties) cost a
// request-reply exchange more than the search.
type callTable struct {
	n     int
	small [4]callEntry
	more  map[uint32]*call
}

type callEntry struct {
	seq uint32
	cl  *call
}

// get returns the call of seq.
func (t *callTable) get(seq uint32) (*call, bool) {
	for i := range t.n {
		if t.small[i].seq == seq {
			return t.small[i].cl, true
		}
	}
	if t.more != nil {
		cl, ok := t.more[seq]
		return cl, ok
	}
	return nil, false
}

// put makes cl the call of seq.
func (t *callTable) put(seq uint32, cl *call) {
	for i := range t.n {
		if t.small[i].seq == seq {
			t.small[i].cl = cl
			return
		}
	}
	if _, ok := t.more[seq]; ok || t.n == len(t.small) {
		if t.more == nil {
			t.more = make(map[uint32]*call)
		}
		t.more[seq] = cl
		return
	}
	t.small[t.n] = callEntry{seq, cl}
	t.n++
}

// del forgets the call of seq.
func (t *callTable) del(seq uint32) {
	for i := range t.n {
		if t.small[i].seq == seq {
			t.n--
			t.small[i] = t.small[t.n]
			t.small[t.n] = callEntry{}
			return
		}
	}
	delete(t.more, seq)
}

// len is the number of calls.
func (t *callTable) len() int { return t.n + len(t.more) }

// each calls fn for every call; fn must not change the table.
func (t *callTable) each(fn func(*call)) {
	for i := range t.n {
		fn(t.small[i].cl)
	}
	for _, cl := range t.more {
		fn(cl)
	}
}
