package ynl_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nlbus/netlink/genl/ynl"
)

// FuzzParse feeds Parse arbitrary YAML, seeded with the specs in testdata:
// it must not panic, and a spec it accepts must be consistent (every
// nested set and op set is one of its sets, found again by name).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ynl.Parse(b)
		if err != nil {
			return
		}
		for _, as := range s.Sets {
			if got, ok := s.Set(as.Name); !ok || got != as {
				t.Fatalf("set %q not found by name", as.Name)
			}
			for _, a := range as.Attrs {
				if a.Nested != nil {
					if got, ok := s.Set(a.Nested.Name); !ok || got != a.Nested {
						t.Fatalf("attribute %q nests a set outside the spec", a.Name)
					}
				}
				if got, ok := as.ByName(a.Name); !ok || got != a {
					t.Fatalf("attribute %q not found by name", a.Name)
				}
			}
		}
		for _, o := range s.Ops {
			if got, ok := s.Op(o.Name); !ok || got != o {
				t.Fatalf("op %q not found by name", o.Name)
			}
		}
	})
}

// FuzzDecode decodes arbitrary attributes with the demo spec: no panic,
// and the JSON it makes is valid.
func FuzzDecode(f *testing.F) {
	s := mustParse(f, "demo.yaml")
	main, _ := s.Set("main")
	seed, err := ynl.EncodeArgs(main, []string{"id=1", "name=x", "enabled", "inner.deeper.val=3", "items.1.key=a", "ids.0=1", "99:u8=1", "tags=a", "tags=b"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, _ := ynl.Decode(main, b)
		j, err := json.Marshal(fs)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(j) {
			t.Fatalf("invalid JSON %s", j)
		}
		var sink discard
		if err := fs.Text(&sink); err != nil {
			t.Fatal(err)
		}
	})
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// FuzzEncodeArgs encodes an arbitrary argument (or two, split at a
// newline) with the demo spec: no panic, and what encodes decodes.
func FuzzEncodeArgs(f *testing.F) {
	s := mustParse(f, "demo.yaml")
	main, _ := s.Set("main")
	for _, seed := range []string{"id=1", "name=x", "enabled", "color=blue", "opts=fast|loud", "inner.deeper.val=3",
		"items.1.key=a", "ids.0=1", "99:u8=1", "5.1:be16=0x102", "blob=de:ad", "delta=-1", "tags=a\ntags=b"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		b, err := ynl.EncodeArgs(main, strings.Split(arg, "\n"))
		if err != nil {
			return
		}
		if _, err := ynl.Decode(main, b); err != nil {
			t.Fatalf("encoded %q does not decode: %v", arg, err)
		}
	})
}
