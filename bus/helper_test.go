package bus_test

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/nlbus/netlink/bus"
)

// helperEnv makes the test binary run a helper client instead of tests.
const helperEnv = "NLBUS_TEST_HELPER"

// runHelper runs the helper named h:
//
//	sink PORT: bind PORT, print "ready", print "got" for each request
//	received, never answer, never exit.
func runHelper(h string) int {
	switch h {
	case "sink":
		port, _ := strconv.Atoi(os.Getenv("NLBUS_TEST_PORT"))
		t, err := bus.DialTransport(context.Background(), "", uint32(port))
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("ready")
		buf := make([]byte, 64<<10)
		for {
			if _, err := t.Recv(context.Background(), buf); err != nil {
				fmt.Println("error:", err)
				return 1
			}
			fmt.Println("got")
		}
	}
	fmt.Println("unknown helper", h)
	return 2
}
