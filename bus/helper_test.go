package bus_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/genl"
)

// helperEnv makes the test binary run a helper client instead of tests.
const helperEnv = "NLBUS_TEST_HELPER"

// runHelper runs the helper named h:
//
//	sink PORT: bind PORT, print "ready", print "got" for each request
//	received, never answer, never exit.
//	kvservice: register the test family "kvkill" (kvSpec), print "ready",
//	serve it, printing "got CMD" per request its handlers see.
//	admincall: call kvkill's admin command, print the error (or "ok").
//	register: register the family $NLBUS_TEST_FAMILY, print "ready" (or
//	the error); with NLBUS_TEST_HOLD=1 keep it until stdin closes.
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
	case "kvservice":
		return kvServiceHelper()
	case "admincall":
		return adminCallHelper()
	case "register":
		return registerHelper()
	}
	fmt.Println("unknown helper", h)
	return 2
}

func kvServiceHelper() int {
	ctx := context.Background()
	c, err := bus.Dial(nil)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fam, err := bus.RegisterFamily(ctx, c, kvSpec("kvkill"))
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	h := func(ctx context.Context, w *bus.ReplyWriter, r *bus.Request) error {
		fmt.Println("got", r.Header.Command)
		if r.Header.Command == kvBlock {
			select {} // never answers: the test kills us
		}
		return w.Reply(ctx, 0, func(ae *netlink.AttributeEncoder) { ae.Uint32(3, r.Creds.UID) })
	}
	err = bus.Serve(ctx, c, fam, map[uint8]bus.Handler{kvSet: h, kvWipe: h, kvList: h, kvBlock: h})
	fmt.Println("error:", err)
	return 1
}

func adminCallHelper() int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := bus.Dial(nil)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	gc := genl.NewConn(c)
	_, err = gc.ExecuteFamily(ctx, "kvkill", genl.Message{Header: genl.Header{Command: kvWipe}}, 0)
	if err != nil {
		fmt.Println(err)
		return 0
	}
	fmt.Println("ok")
	return 0
}

func registerHelper() int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := bus.Dial(nil)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer c.Close()
	if _, err := bus.RegisterFamily(ctx, c, kvSpec(os.Getenv("NLBUS_TEST_FAMILY"))); err != nil {
		fmt.Println("error:", err)
		return 0
	}
	fmt.Println("ready")
	if os.Getenv("NLBUS_TEST_HOLD") == "1" {
		io.Copy(io.Discard, os.Stdin)
	}
	return 0
}
