package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

func init() {
	register("version", command{summary: "print nlbus's module version, the Go release it was built with, and the platform", flags: versionFlags})
}

func versionFlags(*flag.FlagSet) func(context.Context, *env, []string) error {
	return func(_ context.Context, e *env, _ []string) error {
		bi, _ := debug.ReadBuildInfo()
		return printVersion(e.stdout, bi, runtime.GOOS+"/"+runtime.GOARCH)
	}
}

// printVersion writes the version lines from the build information bi (nil
// when the binary has none) for platform GOOS/GOARCH:
//
//	nlbus v0.3.0
//	module github.com/nlbus/netlink
//	go go1.26.1 linux/amd64
//	revision 9e44b62... 2026-12-03T07:00:00Z (modified)
//
// The revision line appears when the build recorded one (go build in a
// checkout); go run and go test record "(devel)" as the version.
func printVersion(w io.Writer, bi *debug.BuildInfo, platform string) error {
	version, module, goVersion := "(unknown)", "github.com/nlbus/netlink", runtime.Version()
	var rev, revTime, modified string
	if bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.Main.Path != "" {
			module = bi.Main.Path
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				revTime = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	fmt.Fprintf(w, "nlbus %s\nmodule %s\ngo %s %s\n", version, module, goVersion, platform)
	if rev != "" {
		fmt.Fprintf(w, "revision %s", rev)
		if revTime != "" {
			fmt.Fprintf(w, " %s", revTime)
		}
		fmt.Fprintf(w, "%s\n", modified)
	}
	return nil
}
