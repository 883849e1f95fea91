//go:build !race

package genl_test

const raceEnabled = false
