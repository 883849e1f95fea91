package main

import (
	"context"
	"encoding/json"
	"flag"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/genl"
)

// withCommand registers a command for one test.
func withCommand(t *testing.T, name string, c command) {
	t.Helper()
	old, had := commands[name]
	register(name, c)
	t.Cleanup(func() {
		if had {
			commands[name] = old
		} else {
			delete(commands, name)
		}
	})
}

// TestHelp: -h, --help and help COMMAND print that command's usage alone on
// standard output and exit 0, for every registered command.
func TestHelp(t *testing.T) {
	// A command in the older form, which parses its own arguments.
	withCommand(t, "legacy", command{summary: "an older command", args: []string{"NAME"},
		run: func(context.Context, *env, []string) error { t.Fatal("ran on -h"); return nil }})
	require.Contains(t, commands, "policy")
	for name, c := range commands {
		for _, args := range [][]string{{name, "-h"}, {name, "--help"}, {name, "-help"}, {"help", name}, {name, "x", "--kernel", "-h"}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, out, errOut := run(args...)
				assert.Equal(t, 0, code)
				assert.Empty(t, errOut)
				assert.True(t, strings.HasPrefix(out, "usage: nlbus "+name), out)
				assert.Contains(t, out, c.summary)
				assert.Equal(t, 1, strings.Count(out, "usage:"), "the command's usage alone")
				assert.NotContains(t, out, "usage: nlbus COMMAND", "not nlbus's usage")
			})
		}
	}
}

func TestUsageText(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"policy", "-h"}, []string{"usage: nlbus policy FAMILY [flags]\n", "\nflags:\n", "-json", "-kernel"}},
		{[]string{"families", "--help"}, []string{"usage: nlbus families [flags]\n", "-kernel"}},
		{[]string{"links", "-h"}, []string{"usage: nlbus links [flags]\n", "-json"}},
		{[]string{"version", "-h"}, []string{"usage: nlbus version\n\nprint nlbus's module version"}},
		// Commands that parse their own flags still list them.
		{[]string{"route", "-h"}, []string{"usage: nlbus route list\n", "\nroute list flags:\n", "-table N", "-dev NAME", "-4", "-json", "-netns"}},
		{[]string{"neigh", "list", "--help"}, []string{"\nneigh list flags:\n", "-6", "-dev NAME"}},
		{[]string{"link", "-h"}, []string{"\nlink list flags:\n", "-json", "-netns"}},
		{[]string{"monitor", "-h"}, []string{"\nmonitor flags:\n", "-pcap", "-count", "-socket", "\nmonitor --kernel [link|addr|route|neigh...] flags:\n", "-no-resync"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, _ := run(tt.args...)
			require.Equal(t, 0, code)
			for _, w := range tt.want {
				assert.Contains(t, out, w)
			}
		})
	}
	_, out, _ := run("version", "-h")
	assert.NotContains(t, out, "flags:", "no flags, no flag section")
}

// TestCommandLineErrors: what is wrong is named on standard error, followed
// by the command's usage, and the exit status is 2.
func TestCommandLineErrors(t *testing.T) {
	withCommand(t, "two", command{summary: "takes A and optional B", args: []string{"A", "[B]"},
		flags: func(*flag.FlagSet) func(context.Context, *env, []string) error {
			return func(context.Context, *env, []string) error { return nil }
		}})
	withCommand(t, "many", command{summary: "takes A and more", args: []string{"A", "REST..."},
		flags: func(*flag.FlagSet) func(context.Context, *env, []string) error {
			return func(context.Context, *env, []string) error { return nil }
		}})
	tests := []struct {
		name string
		args []string
		want string // first line of standard error
	}{
		{"missing family", []string{"policy", "--kernel"}, "nlbus policy: missing FAMILY"},
		{"missing family, no flags", []string{"policy"}, "nlbus policy: missing FAMILY"},
		{"extra argument", []string{"policy", "nlctrl", "extra", "--kernel"}, `nlbus policy: unexpected argument "extra"`},
		{"families takes none", []string{"families", "nlctrl", "--kernel"}, `nlbus families: unexpected argument "nlctrl"`},
		{"links takes none", []string{"links", "eth0"}, `nlbus links: unexpected argument "eth0"`},
		{"version takes none", []string{"version", "now"}, `nlbus version: unexpected argument "now"`},
		{"unknown flag", []string{"families", "--nope"}, "nlbus families: flag provided but not defined: -nope"},
		{"bad flag value", []string{"families", "--json=maybe"}, `nlbus families: invalid boolean value "maybe" for -json: parse error`},
		{"optional argument absent is fine, required is not", []string{"two"}, "nlbus two: missing A"},
		{"beyond the optional one", []string{"two", "a", "b", "c"}, `nlbus two: unexpected argument "c"`},
		{"variadic needs its first", []string{"many"}, "nlbus many: missing A"},
		{"help of an unknown command", []string{"help", "nope"}, `nlbus help: unknown command "nope"`},
		{"help takes one command", []string{"help", "policy", "links"}, `nlbus help: unexpected argument "links"`},
		{"unknown command", []string{"nope"}, `nlbus: unknown command "nope" (try nlbus help)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(tt.args...)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			first, rest, _ := strings.Cut(errOut, "\n")
			assert.Equal(t, tt.want, first)
			if tt.args[0] != "help" && tt.args[0] != "nope" {
				assert.True(t, strings.HasPrefix(rest, "usage: nlbus "+tt.args[0]), "the command's usage follows: %q", rest)
			}
		})
	}
}

func TestArgumentsAccepted(t *testing.T) {
	var got []string
	withCommand(t, "many", command{summary: "takes A and more", args: []string{"A", "REST..."},
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			fs.Bool("x", false, "x")
			return func(_ context.Context, _ *env, args []string) error { got = args; return nil }
		}})
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"many", "a"}, []string{"a"}},
		{[]string{"many", "-x", "a", "b"}, []string{"a", "b"}},
		{[]string{"many", "a", "-x", "b"}, []string{"a", "b"}},
		{[]string{"many", "a", "--", "-x", "-h"}, []string{"a", "-x", "-h"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got = nil
			code, _, errOut := run(tt.args...)
			require.Equal(t, 0, code, errOut)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTopLevelUsage(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout bool
	}{
		{nil, 2, false},
		{[]string{"help"}, 0, true},
		{[]string{"-h"}, 0, true},
		{[]string{"--help"}, 0, true},
		{[]string{"help", "help"}, 0, true},
		{[]string{"help", "-h"}, 0, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := run(tt.args...)
			assert.Equal(t, tt.code, code)
			text := errOut
			if tt.stdout {
				text = out
			}
			assert.True(t, strings.HasPrefix(text, "usage: nlbus COMMAND"), text)
			for name := range commands {
				assert.Contains(t, text, "  "+name+" ")
			}
			assert.Contains(t, text, "  help ")
		})
	}
}

// A command in the older form still works: it gets its arguments as given,
// and errUsage prints its usage.
func TestLegacyCommand(t *testing.T) {
	var got []string
	withCommand(t, "legacy", command{summary: "an older command", run: func(_ context.Context, _ *env, args []string) error {
		got = args
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}})
	code, _, _ := run("legacy", "a", "--flag")
	assert.Equal(t, 0, code)
	assert.Equal(t, []string{"a", "--flag"}, got)

	code, out, errOut := run("legacy")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, "usage: nlbus legacy\n\nan older command\n", errOut)

	code, _, _ = run("legacy", "--", "-h")
	assert.Equal(t, 0, code, "-h after -- is an argument")
	assert.Equal(t, []string{"--", "-h"}, got)
}

func TestVersion(t *testing.T) {
	code, out, errOut := run("version")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 3, out)
	assert.True(t, strings.HasPrefix(lines[0], "nlbus "), lines[0])
	assert.Equal(t, "go "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH, lines[2])

	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "nlbus (unknown)\nmodule github.com/nlbus/netlink\ngo " + runtime.Version() + " freebsd/arm64\n"},
		{"released module", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/nlbus/netlink", Version: "v0.3.0"}},
			"nlbus v0.3.0\nmodule github.com/nlbus/netlink\ngo go1.26.1 freebsd/arm64\n"},
		{"checkout build", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/nlbus/netlink", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-03T07:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			"nlbus (devel)\nmodule github.com/nlbus/netlink\ngo go1.26.1 freebsd/arm64\nrevision abc123 2026-12-03T07:00:00Z (modified)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			require.NoError(t, printVersion(&b, tt.bi, "freebsd/arm64"))
			assert.Equal(t, tt.want, b.String())
		})
	}
}

// TestFlagsJSON: every flag word in JSON has the same shape, value and names.
func TestFlagsJSON(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"op flags", opFlagsJSON(genl.AdminPerm | genl.CmdCapDo), `{"value":3,"names":["admin-perm","do"]}`},
		{"op flags, an unknown bit in value only", opFlagsJSON(genl.CmdCapDump | 0x100), `{"value":260,"names":["dump"]}`},
		{"no op flags", opFlagsJSON(0), `{"value":0,"names":[]}`},
		{"link flags", linkFlagsJSON(compat.Linux, 0x1|0x2|0x40), `{"value":67,"names":["up","broadcast","running"]}`},
		{"no link flags", linkFlagsJSON(compat.Linux, 0), `{"value":0,"names":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(b))
		})
	}
}

// TestLinksJSON runs links --json against the kernel (no root needed) and
// checks the flags' shape.
func TestLinksJSON(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		t.Skipf("skipping: no kernel netlink on %s", runtime.GOOS)
	}
	code, out, errOut := run("links", "--json")
	require.Equal(t, 0, code, errOut)
	var links []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &links))
	require.NotEmpty(t, links, "at least lo")
	for _, l := range links {
		flags, ok := l["flags"].(map[string]any)
		require.True(t, ok, "flags is an object: %v", l["flags"])
		assert.Contains(t, flags, "value")
		assert.IsType(t, []any{}, flags["names"])
	}
}
