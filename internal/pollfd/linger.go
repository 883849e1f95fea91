//go:build unix

package pollfd

import (
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// lingerMax bounds how many threads of the process wait in Linger at once
// (lingerTaken): each one holds an OS thread while it waits. A counter, not
// a channel: a channel's lock, taken twice a read, showed in a bus client's
// profile at about 1% of its samples.
var (
	lingerMax   = int32(max(2, runtime.GOMAXPROCS(0)))
	lingerTaken atomic.Int32
)

// Linger waits up to d (rounded up to a millisecond) in a blocking poll(2)
// for the descriptor fd to become readable, and reports whether it did.
// It reports false at once when every slot is taken.
//
// A datagram that arrives while a goroutine is parked in the runtime
// poller wakes it through the poller and the scheduler, which costs a
// local request-reply exchange three times what a thread blocked in the
// system call pays. A connection that has just been served expects its
// next datagram soon (the reply to the request it relayed or sent), so
// waiting a moment in the kernel first is cheaper; after d it parks as
// before. The wait blocks an OS thread but uses no CPU.
func Linger(fd uintptr, d time.Duration) bool {
	if lingerTaken.Add(1) > lingerMax {
		lingerTaken.Add(-1)
		return false
	}
	defer lingerTaken.Add(-1)
	ms := int((d + time.Millisecond - 1) / time.Millisecond)
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds[:], ms)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}
