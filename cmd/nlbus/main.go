// Command nlbus inspects kernel netlink and (later) runs the nlbus daemon.
//
// Usage:
//
//	nlbus links [--json]             list the kernel's network interfaces
//	nlbus families --kernel [--json] list generic-netlink families
//	nlbus policy FAMILY --kernel     show a family's attribute policies
//
// Errors print one line on standard error and exit with status 1.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
)

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what a subcommand writes to.
type env struct {
	stdout io.Writer
	stderr io.Writer
}

// commands is filled by the init functions of the files that define them.
var commands = map[string]command{}

func register(name string, c command) { commands[name] = c }

// errUsage makes main print the usage text.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := runMain(ctx, &env{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func runMain(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "nlbus: unknown command %q (try nlbus help)\n", args[0])
		return 2
	}
	if err := c.run(ctx, e, args[1:]); err != nil {
		if errors.Is(err, errUsage) {
			usage(e.stderr)
			return 2
		}
		fmt.Fprintf(e.stderr, "nlbus %s: %s\n", args[0], oneLine(err))
		return 1
	}
	return 0
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: nlbus COMMAND [ARGS]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}
