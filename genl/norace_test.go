//go:build !race && linux

package genl_test

const raceEnabled = false
