// Package server is the composition root of Rheos: it opens the shared
// stores (metadata, the one record log, the key provider), builds each
// service from its wiring file (kinesis.go, and one per service to come) and
// plugs its API into the router that serves every service on one port,
// composes the services' retention over the shared log, serves the one mux
// (APIs, health, metrics) over HTTP/1.1, h2c and TLS, and owns every
// long-lived goroutine through its run group and graceful shutdown. It may
// import every package; nothing imports it but the command layer.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rheos/rheos/internal/analytics"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/console"
	"github.com/rheos/rheos/internal/datastream"
	"github.com/rheos/rheos/internal/firehose"
	"github.com/rheos/rheos/internal/functions"
	"github.com/rheos/rheos/internal/glue"
	"github.com/rheos/rheos/internal/metrics"
	"github.com/rheos/rheos/internal/objectstore"
	"github.com/rheos/rheos/internal/signaling"
	"github.com/rheos/rheos/internal/vfs"
	"github.com/rheos/rheos/internal/video"
)

// Server is a running Rheos node.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	now      func() time.Time
	opts     Options
	store    *storage
	metrics  *metrics.Metrics
	registry *prometheus.Registry // the one registry every service's metrics join
	router   *awsproto.Router
	// policies maps a service's signing name to its resource-policy lookup
	// (authorization reads them for ARNs of that service).
	policies map[string]func(ctx context.Context, arn string) (string, error)
	// tasks are the services' periodic jobs, started by Serve.
	tasks []task
	// finishers complete the services' deferred deletions before a log
	// sweep (so the sweep reclaims what they released).
	finishers []func(ctx context.Context) error
	// closers stop the services' own resources (function processes) at
	// Close, before the stores close.
	closers []func() error
	// daemons are the services' long-lived loops, run by the run group.
	daemons   []daemon
	kinesis   *datastream.Service
	functions *functions.Service // every caller's one invoker (Lambda API, Firehose processors)
	s3        *objectstore.Store // the built-in S3's objects (s3.go); in-process writers use it
	glue      *glue.Service      // the Glue Data Catalog subset (glue.go); Firehose reads table schemas
	firehose  *firehose.Service  // delivery streams (firehose.go); analytics outputs put into them
	analytics *analytics.Service // Kinesis Data Analytics applications (analytics.go); the SQL engine attaches here
	video     *video.Service     // Video Streams' streams and channels (video.go); the data plane attaches here
	signaling *signaling.Hub     // the signaling channels' relay (video.go, signaling.go): the console lists its peers
	console   *console.Console   // the web console at /console (console.go)

	http     *http.Server
	admin    *http.Server // health and metrics on AdminAddr, if set
	ln       net.Listener // nil when the plain listener is off (TLS only)
	tlsLn    net.Listener // nil unless TLSAddr is set
	adLn     net.Listener
	creds    *atomic.Pointer[credTable]
	draining chan struct{}
	group    *runGroup
	closed   sync.Once
	closeErr error
}

// daemon is a service's long-lived loop: run returns when ctx ends.
type daemon struct {
	name string
	run  func(ctx context.Context) error
}

// task is a service's periodic job.
type task struct {
	name     string
	interval time.Duration
	run      func(ctx context.Context) error
}

// Options are test hooks and process integration; production passes the
// zero value or Reload.
type Options struct {
	// FS replaces the filesystem of the record log.
	FS vfs.FS
	// Now replaces the clock.
	Now func() time.Time
	// Reload, if set, is called on SIGHUP for a fresh configuration whose
	// credentials replace the current ones (rotation without restart).
	Reload func() (config.Config, error)

	logger *slog.Logger
}

// New opens the data directory, recovers it, builds every service and
// prepares the listeners. On error everything opened is closed again.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, opts Options) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	opts.logger = logger
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	// The same default as config.Load: verification as soon as a listener
	// is off loopback.
	cfg.AuthMode = cfg.EffectiveAuthMode()
	s := &Server{cfg: cfg, log: logger, now: now, opts: opts, group: newRunGroup(logger), draining: make(chan struct{}),
		policies: map[string]func(context.Context, string) (string, error){}}
	start := time.Now()
	registry := prometheus.NewRegistry()
	s.registry = registry
	s.metrics = metrics.New(registry, cfg.DataDir)
	if s.store, err = openStorage(ctx, cfg, opts, now, s.metrics); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.store.close()
		}
	}()
	var table atomic.Pointer[credTable]
	s.creds = &table
	s.router = awsproto.NewRouter(&awsproto.Env{
		DefaultRegion: cfg.Region, Logger: logger, Draining: s.draining,
		Verify: verifier(cfg, now, &table), Observe: s.metrics.Request,
	})
	s.applyLimits(s.router.Env())
	// Each service's wiring file registered itself (registerWiring).
	for _, w := range sortedWirings() {
		if err := w.wire(s, ctx); err != nil {
			return nil, fmt.Errorf("wiring %s: %w", w.name, err)
		}
	}
	logger.Info("recovered", "data_dir", cfg.DataDir, "epoch", s.store.fence, "services", s.router.Services(), "took", time.Since(start).String())
	creds, err := buildCreds(cfg, s.resourcePolicy)
	if err != nil {
		return nil, err
	}
	table.Store(&creds)
	logger.Info("authentication", "mode", cfg.AuthMode)
	s.http = &http.Server{
		Handler:           s.mux(registry),
		Protocols:         protocols(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// On shutdown, end event streams (SubscribeToShard) so that they do not
	// hold the graceful shutdown for their 5-minute lifetime.
	s.http.RegisterOnShutdown(func() { close(s.draining) })
	return s, nil
}

// mux is the one handler of the API port: health, readiness and metrics
// (unless they live on the admin address), and every AWS service through
// the router. With auth mode verify the API port never serves health and
// metrics (metrics name every account's streams, and they are not
// authenticated): they are served on the admin address only, and not at
// all without one (config.Load gives verify mode one on loopback).
func (s *Server) mux(registry *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	var admin *http.ServeMux
	switch {
	case s.cfg.AdminAddr != "":
		admin = http.NewServeMux()
		s.admin = &http.Server{Handler: admin, ReadHeaderTimeout: 10 * time.Second}
	case s.cfg.AuthMode != "verify":
		admin = mux
	default:
		mux.Handle("/", s.router)
		return s.withConsole(exactPaths(mux, s.router))
	}
	// /healthz: the process serves. /readyz: recovery is done (it is, once
	// the listener exists) and the log accepts writes. /metrics: Prometheus.
	admin.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	admin.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.store.log.Failed(); err != nil {
			http.Error(w, "not ready: record log refuses writes: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	admin.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	admin.HandleFunc("GET /cluster/status", s.serveClusterStatus)
	mux.Handle("/", s.router)
	return s.withConsole(exactPaths(mux, s.router))
}

// exactPaths hands the router every request with its path as sent: ServeMux
// redirects a path it would clean ("//", "." or ".." segments), and those
// are S3 object keys like any other. Only the health, readiness and metrics
// paths go through mux.
func exactPaths(mux *http.ServeMux, router http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics", "/cluster/status":
			mux.ServeHTTP(w, r)
		default:
			router.ServeHTTP(w, r)
		}
	})
}

func protocols() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	p.SetHTTP2(true) // over TLS, on the TLS listener
	return &p
}

// Listen binds the addresses. Addr returns the bound address afterwards.
func (s *Server) Listen() (err error) {
	var lns []net.Listener
	defer func() {
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
		}
	}()
	if !s.cfg.AddrOff() {
		if s.ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			return err
		}
		lns = append(lns, s.ln)
	}
	if s.admin != nil {
		if s.adLn, err = net.Listen("tcp", s.cfg.AdminAddr); err != nil {
			return err
		}
		lns = append(lns, s.adLn)
	}
	if s.cfg.TLSAddr != "" {
		tc, err := s.tlsConfig()
		if err != nil {
			return err
		}
		s.http.TLSConfig = tc
		if s.tlsLn, err = net.Listen("tcp", s.cfg.TLSAddr); err != nil {
			return err
		}
	}
	return nil
}

// AdminAddr is the bound admin address, or "" when there is none.
func (s *Server) AdminAddr() string {
	if s.adLn == nil {
		return ""
	}
	return s.adLn.Addr().String()
}

// TLSAddr is the bound TLS address, or "" when TLS is off.
func (s *Server) TLSAddr() string {
	if s.tlsLn == nil {
		return ""
	}
	return s.tlsLn.Addr().String()
}

// Addr is the bound address of the plain listener, or "" when it is off.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Serve serves until ctx is cancelled or a component fails, then shuts down
// gracefully: the listeners close, in-flight requests (puts waiting for
// their fsync) finish, every goroutine of the run group stops, then the
// stores close.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil && s.tlsLn == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	g := s.group
	if s.ln != nil {
		g.Go("api", func(context.Context) error { return served(s.http.Serve(s.ln)) })
	}
	if s.tlsLn != nil {
		g.Go("api-tls", func(context.Context) error { return served(s.http.ServeTLS(s.tlsLn, "", "")) })
		s.log.Info("serving TLS", "addr", s.TLSAddr())
	}
	if s.admin != nil {
		serveHTTP(g, "admin", s.admin, s.adLn)
		s.log.Info("serving admin (health, metrics)", "addr", s.AdminAddr())
	}
	if s.cfg.PprofAddr != "" {
		if err := s.startPprof(); err != nil {
			s.Close()
			return err
		}
	}
	s.startBackground()
	s.log.Info("serving", "addr", s.Addr(), "tls_addr", s.TLSAddr(), "services", s.router.Services())
	select {
	case <-g.Done():
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(s.cfg.ShutdownTimeout))
	defer cancel()
	err := s.http.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if gerr := g.Err(); err == nil {
		err = gerr
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// startBackground starts the periodic work: the log's retention sweep
// (composed over every service's keys), recovery of a failed log, the
// services' own tasks, and the SIGHUP credential reloader.
func (s *Server) startBackground() {
	g := s.group
	g.Every("log-sweep", time.Duration(s.cfg.SweepInterval), s.store.sweep)
	// While the log refuses writes after a failed write or fsync, try every
	// second to recover it (the fault may clear: space freed, a transient
	// disk error).
	g.Every("log-recovery", time.Second, func(ctx context.Context) error {
		if failed := s.store.log.Failed(); failed != nil {
			if err := s.store.log.Recover(ctx); err != nil {
				s.log.Warn("record log still failed; writes refused", "err", failed, "recover_err", err)
			}
		}
		return nil
	})
	for _, t := range s.tasks {
		g.Every(t.name, t.interval, t.run)
	}
	for _, d := range s.daemons {
		g.Go(d.name, d.run)
	}
	if s.opts.Reload != nil {
		g.Go("sighup-reload", func(ctx context.Context) error {
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-hup:
					next, err := s.opts.Reload()
					if err == nil {
						err = s.ReloadCredentials(next)
					}
					if err != nil {
						s.log.Error("credential reload failed; keeping the previous credentials", "err", err)
					}
				}
			}
		})
	}
}

// served turns a listener's normal end into nil.
func served(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// serveHTTP runs srv on ln as a member of g; the member closes srv when the
// group stops.
func serveHTTP(g *runGroup, name string, srv *http.Server, ln net.Listener) {
	g.Go(name, func(ctx context.Context) error {
		stop := context.AfterFunc(ctx, func() { srv.Close() })
		defer stop()
		return served(srv.Serve(ln))
	})
}

// Close stops the run group (every background goroutine and listener) and
// closes the stores. It is safe to call more than once.
func (s *Server) Close() error {
	s.closed.Do(func() {
		s.http.Close()
		s.group.Stop()
		for _, c := range s.closers {
			if err := c(); err != nil {
				s.log.Warn("closing a service", "err", err)
			}
		}
		s.closeErr = s.store.close()
		s.log.Info("stopped")
	})
	return s.closeErr
}

// Autoscale runs one on-demand scaling pass now (tests).
func (s *Server) Autoscale(ctx context.Context) (int, int, error) { return s.kinesis.Autoscale(ctx) }

// Sweep runs one retention sweep now (tests and operators): every service
// finishes its deletions, then the log applies the composed retention.
func (s *Server) Sweep(ctx context.Context) error {
	for _, finish := range s.finishers {
		if err := finish(ctx); err != nil {
			return err
		}
	}
	return s.store.sweep(ctx)
}

// wiring plugs one service into the server; each service's wiring file
// registers one from an init function, so adding a service touches no other
// file of the server.
type wiring struct {
	name string
	// order sorts the wirings: a service another one adapts to comes
	// first. Kinesis is 0 and the router's fallback.
	order int
	wire  func(s *Server, ctx context.Context) error
}

var wirings []wiring

// registerWiring is called from the init functions of the wiring files.
func registerWiring(name string, order int, wire func(s *Server, ctx context.Context) error) {
	wirings = append(wirings, wiring{name: name, order: order, wire: wire})
}

func sortedWirings() []wiring {
	out := slices.Clone(wirings)
	slices.SortStableFunc(out, func(a, b wiring) int { return a.order - b.order })
	return out
}

// startPprof serves the runtime profiles on their own listener.
func (s *Server) startPprof() error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", s.cfg.PprofAddr)
	if err != nil {
		return err
	}
	serveHTTP(s.group, "pprof", &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln)
	s.log.Info("pprof", "addr", ln.Addr().String())
	return nil
}
