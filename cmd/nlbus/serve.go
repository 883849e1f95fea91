package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
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
	return func(ctx context.Context, e *env, _ []string) error {
		return runServe(ctx, e, serveOptions{*socket, *level, *format, *maxDG, *qBytes, *qFrames, *monitorGID, *sockGroup})
	}
}

// serveOptions are serve's flags.
type serveOptions struct {
	socket, level, format  string
	maxDG, qBytes, qFrames int
	monitorGID             int
	sockGroup              string
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
	}
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
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

// busFlags adds the flags every bus client command has.
func busFlags(fs *flag.FlagSet) *string {
	return fs.String("socket", "", "the daemon's socket (default $"+bus.EnvSocket+", else "+bus.SocketPath()+")")
}

// parseUint parses a decimal or 0x-prefixed number.
func parseUint(s string, bits int) (uint64, error) {
	return strconv.ParseUint(strings.TrimSpace(s), 0, bits)
}
