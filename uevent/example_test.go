package uevent_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/nlbus/netlink/uevent"
)

// Print the network interfaces the kernel adds. It needs a Linux kernel, so
// it is compiled but not run.
func ExampleReader() {
	r, err := uevent.Dial(nil) // the kernel's uevents (KernelGroup)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	for {
		ev, err := r.Read(context.Background())
		if errors.Is(err, uevent.ErrMalformed) {
			log.Print(err) // not a uevent: read on
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		if ev.Action != uevent.Add || string(ev.Subsystem) != "net" {
			continue
		}
		name, _ := ev.Lookup("INTERFACE")
		fmt.Printf("seq %d: interface %s at %s\n", ev.Seqnum, name, ev.DevPath)
	}
}

func ExampleParse() {
	b := []byte("add@/devices/virtual/net/v0\x00ACTION=add\x00DEVPATH=/devices/virtual/net/v0\x00SUBSYSTEM=net\x00SEQNUM=7\x00INTERFACE=v0\x00")
	var ev uevent.Event
	if err := uevent.Parse(b, &ev); err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Source, ev.Action, string(ev.DevPath), string(ev.Subsystem), ev.Seqnum, ev.Get("INTERFACE"))
	// Output: kernel add /devices/virtual/net/v0 net 7 v0
}
