//go:build race && linux

package genl_test

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation counts are only checked without it (.ci/run runs both).
const raceEnabled = true
