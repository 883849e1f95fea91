package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nlbus/netlink/bus"
)

func init() {
	register("serve", command{summary: "run the bus daemon (no flags needed: root gets the system bus, others a per-user bus)", flags: serveFlags})
}

func serveFlags(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	socket := fs.String("socket", "", "socket path (default $"+bus.EnvSocket+", else "+bus.SocketPath()+")")
	level := fs.String("log-level", "info", "log level: trace, debug, info, warn, error")
	format := fs.String("log-format", "text", "log format: text or json")
	maxDG := fs.Int("max-datagram", bus.DefaultMaxDatagram, "largest datagram in bytes, envelope included")
	qBytes := fs.Int("queue-bytes", 1<<20, "per-connection outbound queue limit in bytes")
	qFrames := fs.Int("queue-frames", 4096, "per-connection outbound queue limit in frames")
	monitorGID := fs.Int("monitor-gid", 0, "group ID (besides root and the daemon's user) allowed to monitor and to bind ports below 1024")
	sockGroup := fs.String("socket-group", "", "group ID given to the socket file, so its members may use a 0660 system bus")
	access := fs.String("access", "", "access rules file, reloaded on SIGHUP (default for the system bus: "+bus.DefaultAccessPath()+" if it exists; none for a per-user bus)")
	check := fs.String("check-access", "", "validate an access rules file, print a summary and exit")
	adminGroup := fs.String("admin-group", "", "groups (names or IDs, comma-separated) whose members may call commands flagged admin, besides root")
	return func(ctx context.Context, e *env, _ []string) error {
		if *check != "" {
			return checkAccess(e, *check)
		}
		return runServe(ctx, e, serveOptions{*socket, *level, *format, *maxDG, *qBytes, *qFrames, *monitorGID, *sockGroup, *access, *adminGroup})
	}
}

// serveOptions are serve's flags.
type serveOptions struct {
	socket, level, format  string
	maxDG, qBytes, qFrames int
	monitorGID             int
	sockGroup              string
	access, adminGroup     string
}

func runServe(ctx context.Context, e *env, o serveOptions) error {
	if o.format != "text" && o.format != "json" {
		return usageErrorf("--log-format must be text or json, not %q", o.format)
	}
	lvl := hclog.LevelFromString(o.level)
	if lvl == hclog.NoLevel {
		return usageErrorf("unknown --log-level %q", o.level)
	}
	log := hclog.New(&hclog.LoggerOptions{
		Name: "nlbus", Level: lvl, JSONFormat: o.format == "json", Output: e.stderr,
	})
	switch {
	case o.maxDG < bus.MinMaxDatagram || o.maxDG > bus.MaxMaxDatagram:
		return usageErrorf("--max-datagram %d is outside %d to %d bytes", o.maxDG, bus.MinMaxDatagram, bus.MaxMaxDatagram)
	case o.qBytes <= 0:
		return usageErrorf("--queue-bytes must be positive, not %d", o.qBytes)
	case o.qFrames <= 0:
		return usageErrorf("--queue-frames must be positive, not %d", o.qFrames)
	case o.monitorGID < 0:
		return usageErrorf("--monitor-gid must be a group ID, not %d", o.monitorGID)
	}
	gid := -1
	if o.sockGroup != "" {
		g, err := strconv.Atoi(o.sockGroup)
		if err != nil || g < 0 {
			return usageErrorf("--socket-group wants a numeric group ID, not %q", o.sockGroup)
		}
		gid = g
	}

	admins, err := parseGroups(o.adminGroup)
	if err != nil {
		return usageErrorf("--admin-group: %v", err)
	}
	// The system bus is root's (as its socket is 0660); a per-user bus
	// (0600) is its owner's, and the defaults follow (docs/BUS.md).
	system := os.Geteuid() == 0
	accessPath, explicit := o.access, o.access != ""
	if !explicit && system {
		accessPath = bus.DefaultAccessPath()
	}
	rules, err := loadAccess(accessPath, explicit)
	if err != nil {
		return err
	}

	l, err := bus.InheritedListener()
	if err != nil {
		return err
	}
	path := "(socket activation)"
	if l == nil {
		path = o.socket
		if path == "" {
			path = bus.SocketPath()
		}
		l, err = bus.Listen(path, &bus.ListenConfig{Group: gid})
		if err != nil {
			return err
		}
	}
	srv := &bus.Server{
		Logger:      log.Named("bus"),
		MaxDatagram: o.maxDG,
		QueueBytes:  o.qBytes,
		QueueFrames: o.qFrames,
		MonitorGID:  uint32(o.monitorGID),
		Access:      rules,
		SystemBus:   system,
		AdminGroups: admins,
	}
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if accessPath != "" {
		log.Info("access rules", "file", accessPath, "rules", rules.Len(), "loaded", rules != nil)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go reloadOnHUP(sigCtx, hup, log, srv, accessPath, explicit)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-sigCtx.Done()
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("shutdown: queues not drained", "error", err)
		}
	}()
	log.Info("serving", "socket", path, "pid", os.Getpid())
	err = srv.Serve(l)
	stop()
	<-done
	if errors.Is(err, bus.ErrServerClosed) {
		log.Info("stopped")
		return nil
	}
	return err
}

// loadAccess loads the access rules at path ("" for none). A missing file
// is an error only when it was named on the command line.
func loadAccess(path string, explicit bool) (*bus.Access, error) {
	if path == "" {
		return nil, nil
	}
	a, err := bus.LoadAccess(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return nil, nil
	}
	return a, err
}

// reloadOnHUP reloads the access rules on each SIGHUP until ctx ends. A
// file that does not load leaves the rules in force, and says why in the
// log and in the stats.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, log hclog.Logger, srv *bus.Server, path string, explicit bool) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		if path == "" {
			log.Info("SIGHUP: no access rules file to reload (serve --access FILE)")
			continue
		}
		a, err := loadAccess(path, explicit)
		if err != nil {
			log.Error("access rules not reloaded; the rules in force stay", "error", err)
			srv.SetAccessError(err)
			continue
		}
		srv.SetAccess(a)
		log.Info("access rules reloaded", "file", path, "rules", a.Len(), "loaded", a != nil)
	}
}

// checkAccess validates an access rules file for --check-access.
func checkAccess(e *env, path string) error {
	a, err := bus.LoadAccess(path)
	if err != nil {
		return err
	}
	rules := "rules"
	if a.Len() == 1 {
		rules = "rule"
	}
	fmt.Fprintf(e.stdout, "%s: %d %s, admin groups %v: OK\n", path, a.Len(), rules, a.AdminGroups())
	return nil
}

// parseGroups parses comma-separated group names or IDs.
func parseGroups(list string) ([]uint32, error) {
	var out []uint32
	for _, g := range strings.Split(list, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			out = append(out, uint32(n))
			continue
		}
		gr, err := user.LookupGroup(g)
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(gr.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("group %q has no numeric ID", g)
		}
		out = append(out, uint32(n))
	}
	return out, nil
}

// busFlags adds the flags every bus client command has.
func busFlags(fs *flag.FlagSet) *string {
	return fs.String("socket", "", "the daemon's socket (default $"+bus.EnvSocket+", else "+bus.SocketPath()+")")
}

// parseUint parses a decimal or 0x-prefixed number.
func parseUint(s string, bits int) (uint64, error) {
	return strconv.ParseUint(strings.TrimSpace(s), 0, bits)
}
