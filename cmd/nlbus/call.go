package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/nlbus/netlink"
	"github.com/nlbus/netlink/bus"
	"github.com/nlbus/netlink/genl"
	"github.com/nlbus/netlink/genl/ynl"
)

func init() {
	register("call", command{
		summary: "call a generic-netlink family's command by names (from its description or --spec) and print the replies",
		args:    []string{"FAMILY", "COMMAND", "[ARG...]"},
		details: `COMMAND is an operation's name in the family's spec, or its number.
On the bus the spec is the description the family registered (nlbus call
fetches it); --spec FILE gives one (a YNL spec, as in the kernel's
Documentation/netlink/specs/), as --kernel needs. Without a spec, COMMAND is
a number and the arguments are numeric (N:TYPE=VALUE); replies are then
shown by attribute number.

` + ynl.ArgSyntax + `

Examples:
  nlbus call kvstore set key=a value=1
  nlbus call kvstore list --dump --json
  nlbus call kvstore 1 1:str=a 2:u32=1
  nlbus call --kernel --spec nlctrl.yaml nlctrl getfamily family-name=nlctrl
  nlbus call --kernel --spec netdev.yaml netdev dev-get --dump`,
		flags: callFlags,
	})
}

type callOptions struct {
	socket, spec        string
	dump, json, kernel  bool
	family, command     string
	args                []string
	stdout              io.Writer
	readFile            func(string) ([]byte, error)
	dialKernel, dialBus func() (*genl.Conn, error)
}

func callFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	socket := busFlags(fs)
	dump := fs.Bool("dump", false, "send a dump request (NLM_F_DUMP) and print every part")
	asJSON := fs.Bool("json", false, "print a JSON array of the replies, attributes by name")
	spec := fs.String("spec", "", "the family's YNL spec `FILE` (YAML), instead of its registered description")
	kernel := fs.Bool("kernel", false, "call the kernel's generic netlink instead of the bus (needs --spec for names)")
	return func(ctx context.Context, e *env, args []string) error {
		o := callOptions{
			socket: *socket, spec: *spec, dump: *dump, json: *asJSON, kernel: *kernel,
			family: args[0], command: args[1], args: args[2:], stdout: e.stdout,
			readFile: readSpecFile, dialKernel: dialGenl,
			dialBus: func() (*genl.Conn, error) { return dialBusGenl(*socket) },
		}
		return runCall(ctx, &o)
	}
}

// readSpecFile reads a --spec file, at most ynl.MaxSpecSize bytes and one
// more to tell that it is too large: a FIFO, a device (/dev/zero) or a
// growing file must not be read into memory without bound.
func readSpecFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, ynl.MaxSpecSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(text) > ynl.MaxSpecSize {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", path, ynl.ErrSpec, ynl.MaxSpecSize)
	}
	return text, nil
}

func runCall(ctx context.Context, o *callOptions) error {
	var spec *ynl.Spec
	if o.spec != "" {
		text, err := o.readFile(o.spec)
		if err != nil {
			return err
		}
		if spec, err = ynl.Parse(text); err != nil {
			return fmt.Errorf("%s: %w", o.spec, err)
		}
		if spec.Name != o.family {
			return fmt.Errorf("%s describes family %q, not %q", o.spec, spec.Name, o.family)
		}
	}
	dial := o.dialBus
	if o.kernel {
		dial = o.dialKernel
	}
	c, err := dial()
	if err != nil {
		return err
	}
	defer c.Close()
	fam, err := c.GetFamily(ctx, o.family)
	if err != nil {
		return err
	}
	if spec == nil && !o.kernel {
		if spec, err = fetchSpec(ctx, c.Netlink(), o.family); err != nil {
			return err
		}
	}

	op, err := callOp(spec, o)
	if err != nil {
		return err
	}
	var set *ynl.AttrSet
	if op != nil {
		set = op.Set
	}
	attrs, err := ynl.EncodeArgs(set, o.args)
	if err != nil {
		return err
	}
	hdr := int(fam.HeaderSize)
	if spec != nil && spec.HeaderSize != hdr {
		return fmt.Errorf("the spec's fixed header is %d bytes, family %q's %d", spec.HeaderSize, o.family, hdr)
	}
	data := append(make([]byte, hdr, hdr+len(attrs)), attrs...)
	cmd, err := callCommand(op, o.command)
	if err != nil {
		return err
	}
	req := genl.Message{Header: genl.Header{Command: cmd, Version: uint8(fam.Version)}, Data: data}
	out := &replyPrinter{w: o.stdout, json: o.json, set: set, hdr: hdr}
	if o.dump {
		// A dump is printed as it arrives: a large one is never held in
		// memory whole.
		for m, err := range c.Dump(ctx, fam.ID, req) {
			if err != nil {
				return out.fail(err)
			}
			if err := out.add(m.Data); err != nil {
				return out.fail(err)
			}
		}
		return out.close()
	}
	replies, cerr := c.Execute(ctx, fam.ID, req, 0)
	// What came before an error is printed too.
	for _, r := range replies {
		if err := out.add(r.Data); err != nil {
			return out.fail(err)
		}
	}
	if cerr != nil {
		return out.fail(cerr)
	}
	return out.close()
}

// replyPrinter prints replies one by one: text blocks separated by a blank
// line, or the elements of one JSON array.
type replyPrinter struct {
	w    io.Writer
	json bool
	set  *ynl.AttrSet
	hdr  int
	n    int
}

// add decodes and prints one reply's payload (family header included).
func (p *replyPrinter) add(data []byte) error {
	if len(data) < p.hdr {
		return fmt.Errorf("reply %d: %d bytes, shorter than the family header (%d)", p.n+1, len(data), p.hdr)
	}
	idx := p.n + 1
	fs, derr := ynl.Decode(p.set, data[p.hdr:])
	if fs != nil || derr == nil {
		if err := p.print(fs); err != nil {
			return err
		}
	}
	if derr != nil {
		return fmt.Errorf("reply %d: %w", idx, derr)
	}
	return nil
}

func (p *replyPrinter) print(fs ynl.Fields) error {
	p.n++
	if !p.json {
		if p.n > 1 {
			fmt.Fprintln(p.w)
		}
		return fs.Text(p.w)
	}
	b, err := json.MarshalIndent(fs, "  ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n  "
	if p.n == 1 {
		sep = "[\n  "
	}
	_, err = fmt.Fprintf(p.w, "%s%s", sep, b)
	return err
}

// close ends the output: the JSON array is closed ("[]" when empty).
func (p *replyPrinter) close() error {
	if !p.json {
		return nil
	}
	var err error
	if p.n == 0 {
		_, err = fmt.Fprintln(p.w, "[]")
	} else {
		_, err = fmt.Fprintln(p.w, "\n]")
	}
	return err
}

// fail closes what was printed (an error with no replies prints nothing)
// and returns err.
func (p *replyPrinter) fail(err error) error {
	if p.n > 0 {
		p.close()
	}
	return err
}

// fetchSpec returns the description family registered on the bus, parsed,
// or nil if it registered none.
func fetchSpec(ctx context.Context, c *netlink.Conn, family string) (*ynl.Spec, error) {
	desc, err := bus.GetDescription(ctx, c, family)
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.EOPNOTSUPP):
		return nil, nil // no description (or a daemon without descriptions)
	case err != nil:
		return nil, err
	}
	spec, err := ynl.Parse(desc)
	if err != nil {
		return nil, fmt.Errorf("the description family %q registered: %w (try --spec)", family, err)
	}
	return spec, nil
}

// callOp finds the operation o.command names in spec (nil without a spec
// or for a command number the spec does not list) and checks it takes the
// request asked for.
func callOp(spec *ynl.Spec, o *callOptions) (*ynl.Op, error) {
	if spec == nil {
		if _, err := strconv.ParseUint(o.command, 0, 8); err != nil {
			why := "it registered no description"
			if o.kernel {
				why = "no --spec was given"
			}
			return nil, fmt.Errorf("command %q: family %q has no names (%s): give the command as a number and numeric arguments (N:TYPE=VALUE), or --spec FILE", o.command, o.family, why)
		}
		return nil, nil
	}
	op, ok := spec.Op(o.command)
	if !ok {
		if n, err := strconv.ParseUint(o.command, 0, 8); err == nil {
			for _, cand := range spec.Ops {
				if cand.Value == uint8(n) && !cand.Notify {
					op = cand
					break
				}
			}
			if op == nil {
				return nil, nil
			}
		} else {
			var names []string
			for _, cand := range spec.Ops {
				if !cand.Notify {
					names = append(names, cand.Name)
				}
			}
			return nil, fmt.Errorf("family %q has no command %q (commands: %s)", o.family, o.command, strings.Join(names, ", "))
		}
	}
	switch {
	case op.Notify:
		return nil, fmt.Errorf("%q is a notification of family %q, not a command", op.Name, o.family)
	case o.dump && op.Dump == nil:
		return nil, fmt.Errorf("command %q of family %q takes no dump (drop --dump)", op.Name, o.family)
	case !o.dump && op.Do == nil:
		return nil, fmt.Errorf("command %q of family %q takes only a dump (add --dump)", op.Name, o.family)
	}
	return op, nil
}

// callCommand is the genl command to send.
func callCommand(op *ynl.Op, command string) (uint8, error) {
	if op != nil {
		return op.Value, nil
	}
	n, err := strconv.ParseUint(command, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("command %q is no number from 0 to 255", command)
	}
	return uint8(n), nil
}
