//go:build unix

package pollfd_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/nlbus/netlink/internal/pollfd"
)

func rawPair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// Linger reports a datagram that arrives within its time, and gives up
// after it.
func TestLinger(t *testing.T) {
	a, b := rawPair(t)
	start := time.Now()
	assert.False(t, pollfd.Linger(uintptr(a), 5*time.Millisecond), "nothing to read")
	assert.GreaterOrEqual(t, time.Since(start), 4*time.Millisecond)

	go func() {
		time.Sleep(2 * time.Millisecond)
		unix.Write(b, []byte("x"))
	}()
	assert.True(t, pollfd.Linger(uintptr(a), 2*time.Second))
	var buf [4]byte
	n, err := unix.Read(a, buf[:])
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

// At most max(2, GOMAXPROCS) threads linger at once; the others return
// false at once rather than hold more OS threads.
func TestLingerBounded(t *testing.T) {
	slots := max(2, runtime.GOMAXPROCS(0))
	a, b := rawPair(t)
	var wg sync.WaitGroup
	for range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pollfd.Linger(uintptr(a), 5*time.Second)
		}()
	}
	// A probe whose socket is readable gets true at once when it has a
	// slot; once the lingerers hold every slot it gets false.
	c, d := rawPair(t)
	_, err := unix.Write(d, []byte("x"))
	require.NoError(t, err)
	refused := false
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if !pollfd.Linger(uintptr(c), time.Second) {
			refused = true
			break
		}
	}
	assert.True(t, refused, "a caller past the slots was not refused")
	unix.Write(b, []byte("x")) // wakes every lingerer
	wg.Wait()
	// Slots are given back.
	assert.True(t, pollfd.Linger(uintptr(c), time.Second))
}
