package ynl_test

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/nlbus/netlink/genl/ynl"
)

// Parse a spec, encode a request's arguments by name, and decode the
// attributes (here the request's own) back into named fields.
func Example() {
	spec, err := ynl.Parse([]byte(`
name: kv
attribute-sets:
  - name: entry
    attributes:
      - {name: key, type: string}
      - {name: value, type: u32}
operations:
  list:
    - {name: set, attribute-set: entry, do: {request: {attributes: [key, value]}}}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	op, _ := spec.Op("set")
	attrs, err := ynl.EncodeArgs(op.Set, []string{"key=a", "value=0x10"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("command", op.Value)
	fields, _ := ynl.Decode(op.Set, attrs)
	fields.Text(os.Stdout)
	j, _ := json.Marshal(fields)
	fmt.Println(string(j))
	// Output:
	// command 1
	// key: "a"
	// value: 16
	// {"key":"a","value":16}
}
