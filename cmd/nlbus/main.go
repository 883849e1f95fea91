// Command nlbus inspects kernel netlink and (later) runs the nlbus daemon.
//
// Usage:
//
//	nlbus links [--json]                   list the kernel's network interfaces
//	nlbus families --kernel [--json]       list generic-netlink families
//	nlbus policy FAMILY --kernel [--json]  show a family's attribute policies
//	nlbus call FAMILY COMMAND [ARG...]     call a family's command by names (--dump, --json, --spec, --kernel)
//	nlbus version                          print the version, Go release and platform
//	nlbus help [COMMAND]                   print the usage of nlbus or of one command
//
// nlbus COMMAND -h (or --help) prints that command's usage and exits 0.
// Errors print one line on standard error and exit with status 1; a wrong
// command line (an unknown flag, a missing or extra argument) exits with
// status 2 and names what is wrong.
//
// With --json, every flag word (interface flags, operation flags) is shown
// as an object with its number and the names of its known bits:
//
//	"flags": {"value": 3, "names": ["admin-perm", "do"]}
//
// A bit the command has no name for is in value only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. Each lives in its own file, whose init calls
// register(name, command{...}):
//
//   - summary (required) is the line `nlbus help` shows.
//   - args names the positional arguments, in order, as the usage shows
//     them: "FAMILY" is required, "[NAME]" optional, "NAME..." (or
//     "[NAME...]") takes the rest, none or more.
//   - flags, when set, declares the command's flags on fs and returns the
//     function to run. main then parses the command line (flags before or
//     after the arguments, -h and --help included), checks the number of
//     arguments against args (naming a missing one, refusing extra ones),
//     and calls the returned function with the positional arguments only.
//     The flag values live in the closure, not in package variables.
//   - details, optional, is printed after the summary in the command's
//     usage (-h): what the summary has no room for.
//   - run is the older form, used when flags is nil: it gets every argument
//     after the command's name and parses them itself. main still answers
//     -h and --help for it, from summary and args; returning errUsage (or an
//     error from usageErrorf) prints the command's usage and exits 2.
type command struct {
	summary string
	args    []string
	details string
	flags   func(fs *flag.FlagSet) func(ctx context.Context, e *env, args []string) error
	run     func(ctx context.Context, env *env, args []string) error
	// flagSets, for a run-form command, returns the flag sets its run
	// parses, so that its usage lists their flags (each under its name).
	flagSets func() []*flag.FlagSet
}

// env is what a subcommand writes to.
type env struct {
	stdout io.Writer
	stderr io.Writer
}

// commands is filled by the init functions of the files that define them.
var commands = map[string]command{}

func register(name string, c command) { commands[name] = c }

// errUsage makes main print the command's usage text and exit 2.
var errUsage = errors.New("usage")

// usageError is a wrong command line: main prints it, then the command's
// usage, and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usageErrorf returns a usageError with a formatted message.
func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, &env{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// runMain runs the command line args and returns the exit status.
func runMain(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(e.stdout)
		return 0
	case "help":
		return runHelp(e, args[1:])
	}
	name := args[0]
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "nlbus: unknown command %q (try nlbus help)\n", name)
		return 2
	}
	err := c.invoke(ctx, e, name, args[1:])
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		c.usage(e.stdout, name)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "nlbus %s: %s\n", name, oneLine(err))
		c.usage(e.stderr, name)
		return 2
	case errors.Is(err, errUsage):
		c.usage(e.stderr, name)
		return 2
	default:
		fmt.Fprintf(e.stderr, "nlbus %s: %s\n", name, oneLine(err))
		return 1
	}
}

func runHelp(e *env, args []string) int {
	switch len(args) {
	case 0:
		usage(e.stdout)
		return 0
	case 1:
		switch args[0] {
		case "help", "-h", "-help", "--help":
			usage(e.stdout)
			return 0
		}
		c, ok := commands[args[0]]
		if !ok {
			fmt.Fprintf(e.stderr, "nlbus help: unknown command %q\n", args[0])
			return 2
		}
		c.usage(e.stdout, args[0])
		return 0
	default:
		fmt.Fprintf(e.stderr, "nlbus help: unexpected argument %q\n", args[1])
		return 2
	}
}

// invoke parses args for c (see command) and runs it.
func (c command) invoke(ctx context.Context, e *env, name string, args []string) error {
	// A request for help wins over anything else wrong on the line.
	if wantsHelp(args) {
		return flag.ErrHelp
	}
	if c.flags == nil {
		return c.run(ctx, e, args)
	}
	fs := c.flagSet(name)
	fn := c.flags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if err := checkArgs(c.args, pos); err != nil {
		return err
	}
	return fn(ctx, e, pos)
}

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func (c command) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // main prints errors and usage itself
	fs.Usage = func() {}
	return fs
}

// parseInterspersed parses flags that come before, between or after the
// positional arguments (up to a "--") and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErrorf("%s", err.Error())
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at the first non-flag argument, or after "--".
		if len(args)-len(rest) > 0 && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// checkArgs checks the positional arguments against their names.
func checkArgs(names, pos []string) error {
	required, variadic := 0, false
	for _, n := range names {
		switch {
		case strings.HasSuffix(strings.TrimSuffix(n, "]"), "..."):
			variadic = true
		case strings.HasPrefix(n, "["):
		default:
			required++
		}
	}
	if len(pos) < required {
		return usageErrorf("missing %s", names[len(pos)])
	}
	if !variadic && len(pos) > len(names) {
		return usageErrorf("unexpected argument %q", pos[len(names)])
	}
	return nil
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// usage prints the usage of command name alone: its synopsis, summary and
// flags.
func (c command) usage(w io.Writer, name string) {
	synopsis := append([]string{"nlbus", name}, c.args...)
	var fs *flag.FlagSet
	if c.flags != nil {
		fs = c.flagSet(name)
		c.flags(fs)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			synopsis = append(synopsis, "[flags]")
		}
	}
	fmt.Fprintf(w, "usage: %s\n\n%s\n", strings.Join(synopsis, " "), c.summary)
	if c.details != "" {
		fmt.Fprintf(w, "\n%s\n", c.details)
	}
	if fs != nil {
		printFlags(w, "flags", fs)
	}
	if c.flagSets != nil {
		for _, fs := range c.flagSets() {
			printFlags(w, fs.Name()+" flags", fs)
		}
	}
}

// printFlags prints fs's flags under title, if it has any.
func printFlags(w io.Writer, title string, fs *flag.FlagSet) {
	var flags strings.Builder
	fs.SetOutput(&flags)
	fs.PrintDefaults()
	if flags.Len() > 0 {
		fmt.Fprintf(w, "\n%s:\n%s", title, flags.String())
	}
}

// usage prints nlbus's usage: every command with its summary.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: nlbus COMMAND [ARGS]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands)+1)
	for n := range commands {
		names = append(names, n)
	}
	names = append(names, "help")
	sort.Strings(names)
	for _, n := range names {
		summary := "print the usage of nlbus or of one command (nlbus help COMMAND)"
		if n != "help" {
			summary = commands[n].summary
		}
		fmt.Fprintf(w, "  %-10s %s\n", n, summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "nlbus COMMAND -h prints the usage of one command.")
}
