// Package server is the composition root of Rheos: it opens the stores,
// builds the domain services and their APIs, wires the adapters between them,
// serves HTTP/1.1 and h2c on one port, runs the background sweeper, and owns
// graceful shutdown. It may import every package; nothing imports it but the
// command layer.
package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/datastream"
	"github.com/rheos/rheos/internal/envelope"
	"github.com/rheos/rheos/internal/kinesisapi"
	"github.com/rheos/rheos/internal/metastore"
	"github.com/rheos/rheos/internal/metrics"
	"github.com/rheos/rheos/internal/streamlog"
	"github.com/rheos/rheos/internal/vfs"
)

// Server is a running Rheos node.
type Server struct {
	cfg    config.Config
	log    *slog.Logger
	meta   *metastore.Store
	rlog   *streamlog.Log
	svc    *datastream.Service
	http   *http.Server
	ln     net.Listener
	tlsLn  net.Listener // nil unless TLSAddr is set
	admin  *http.Server // health and metrics on AdminAddr, if set
	creds  *atomic.Pointer[credTable]
	adLn   net.Listener
	stop   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once
}

// Options are test hooks; production passes the zero value.
type Options struct {
	// FS replaces the filesystem of the record log.
	FS vfs.FS
	// Now replaces the clock.
	Now func() time.Time
}

// New opens the data directory, recovers it and prepares the listener.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	fs := opts.FS
	if fs == nil {
		fs = vfs.OS{}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if err := (vfs.OS{}).MkdirAll(cfg.DataDir); err != nil {
		return nil, err
	}
	meta, err := metastore.Open(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	fence, err := nextEpoch(ctx, meta)
	if err != nil {
		meta.Close()
		return nil, err
	}
	start := time.Now()
	met := metrics.New(cfg.DataDir)
	var keys envelope.KeyProvider
	if cfg.KMSEndpoint != "" {
		if cfg.KMSRegion == "" {
			cfg.KMSRegion = cfg.Region
		}
		keys = newKMSProvider(cfg)
	} else {
		kr, err := envelope.OpenKeyring(filepath.Join(cfg.DataDir, "keyring.json"))
		if err != nil {
			meta.Close()
			return nil, err
		}
		keys = kr
	}
	rlog, err := streamlog.Open(streamlog.Options{
		FS: fs, Dir: filepath.Join(cfg.DataDir, "log"), SegmentBytes: cfg.SegmentBytes,
		SegmentAge: time.Duration(cfg.SegmentAge), Now: now, Logger: logger,
		OnEvent: func(e streamlog.Event) { met.LogEvent(e.Kind) }, OnCommit: met.Commit,
	})
	if err != nil {
		meta.Close()
		return nil, fmt.Errorf("opening record log: %w", err)
	}
	rlog.SetFence(fence)
	met.WatchLog(func() (int, int64) { st := rlog.Stats(); return st.Segments, st.PendingBytes })
	svc, err := datastream.New(ctx, datastream.Config{
		Account: cfg.Account, CreateDelay: time.Duration(cfg.CreateDelay), DeleteDelay: time.Duration(cfg.DeleteDelay),
		UpdateDelay: time.Duration(cfg.UpdateDelay), ShardLimit: cfg.ShardLimit, Fence: fence, Now: now, Logger: logger,
		ThroughputMode: cfg.ThroughputMode, ThroughputScale: cfg.ThroughputScale, Observer: met, Keys: keys,
	}, meta, RecordLog(rlog))
	if err != nil {
		rlog.Close()
		meta.Close()
		return nil, err
	}
	logger.Info("recovered", "data_dir", cfg.DataDir, "epoch", fence, "took", time.Since(start).String())
	creds, err := buildCreds(cfg, svc)
	if err != nil {
		rlog.Close()
		meta.Close()
		return nil, err
	}
	var table atomic.Pointer[credTable]
	table.Store(&creds)
	verify := verifier(cfg, now, &table)
	draining := make(chan struct{})
	front := &awsproto.Front{Services: []*awsproto.Service{kinesisapi.New(svc)}, DefaultRegion: cfg.Region, Logger: logger, Draining: draining,
		Verify: verify, Observe: met.Request}
	if cfg.AuthMode == "" {
		cfg.AuthMode = "none"
	}
	logger.Info("authentication", "mode", cfg.AuthMode)
	mux := http.NewServeMux()
	// /healthz: the process serves. /readyz: recovery is done (it is, once
	// the listener exists) and the log accepts writes. /metrics: Prometheus.
	// They live on the admin address when one is configured.
	admin := mux
	if cfg.AdminAddr != "" {
		admin = http.NewServeMux()
	}
	admin.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	admin.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := rlog.Failed(); err != nil {
			http.Error(w, "not ready: record log refuses writes: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	admin.Handle("GET /metrics", promhttp.HandlerFor(met.Registry, promhttp.HandlerOpts{}))
	mux.Handle("/", front)
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	protocols.SetHTTP2(true) // over TLS, on the TLS listener
	s := &Server{cfg: cfg, log: logger, meta: meta, rlog: rlog, svc: svc, stop: make(chan struct{}), creds: &table}
	if cfg.AdminAddr != "" {
		s.admin = &http.Server{Handler: admin, ReadHeaderTimeout: 10 * time.Second}
	}
	s.http = &http.Server{
		Handler:           mux,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// On shutdown, end event streams (SubscribeToShard) so that they do not
	// hold the graceful shutdown for their 5-minute lifetime.
	s.http.RegisterOnShutdown(func() { close(draining) })
	return s, nil
}

// nextEpoch increments the node's epoch in a CAS transaction; it is the
// fence token of this incarnation's appends.
func nextEpoch(ctx context.Context, meta *metastore.Store) (uint64, error) {
	const key = "config/epoch"
	for {
		v, rev, err := meta.Get(ctx, key)
		if err != nil {
			return 0, err
		}
		var e uint64
		if len(v) == 8 {
			e = binary.BigEndian.Uint64(v)
		}
		e++
		b := binary.BigEndian.AppendUint64(nil, e)
		ok, _, err := meta.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: b}, nil)
		if err != nil {
			return 0, err
		}
		if ok {
			return e, nil
		}
	}
}

// Listen binds the address. Addr returns the bound address afterwards.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	if s.admin != nil {
		if s.adLn, err = net.Listen("tcp", s.cfg.AdminAddr); err != nil {
			ln.Close()
			return err
		}
	}
	if s.cfg.TLSAddr != "" {
		tc, err := s.tlsConfig()
		if err != nil {
			ln.Close()
			return err
		}
		s.http.TLSConfig = tc
		if s.tlsLn, err = net.Listen("tcp", s.cfg.TLSAddr); err != nil {
			ln.Close()
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

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves until ctx is cancelled, then shuts down gracefully: the
// listener closes, in-flight requests (puts waiting for their fsync) finish,
// then the stores close.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.wg.Add(1)
	go s.sweeper()
	if s.cfg.PprofAddr != "" {
		s.startPprof()
	}
	errc := make(chan error, 2)
	go func() { errc <- s.http.Serve(s.ln) }()
	if s.admin != nil {
		go s.admin.Serve(s.adLn)
		s.log.Info("serving admin (health, metrics)", "addr", s.adLn.Addr().String())
	}
	if s.tlsLn != nil {
		go func() { errc <- s.http.ServeTLS(s.tlsLn, "", "") }()
		s.log.Info("serving TLS", "addr", s.TLSAddr())
	}
	s.log.Info("serving", "addr", s.Addr())
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(s.cfg.ShutdownTimeout))
	defer cancel()
	err := s.http.Shutdown(sctx)
	if s.admin != nil {
		s.admin.Close()
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close stops background work and closes the stores.
func (s *Server) Close() error {
	var err error
	s.closed.Do(func() {
		close(s.stop)
		s.wg.Wait()
		err = errors.Join(s.rlog.Close(), s.meta.Close())
		s.log.Info("stopped")
	})
	return err
}

// sweeper applies retention every SweepInterval and, while the log refuses
// writes after a failed write or fsync, tries every second to recover it
// (the fault may clear: space freed, a transient disk error).
func (s *Server) sweeper() {
	defer s.wg.Done()
	t := time.NewTicker(time.Duration(s.cfg.SweepInterval))
	defer t.Stop()
	heal := time.NewTicker(time.Second)
	defer heal.Stop()
	scale := time.NewTicker(10 * time.Second) // on-demand streams follow their traffic
	defer scale.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-heal.C:
			if failed := s.rlog.Failed(); failed != nil {
				if err := s.rlog.Recover(context.Background()); err != nil {
					s.log.Warn("record log still failed; writes refused", "err", failed, "recover_err", err)
				}
			}
		case <-scale.C:
			if splits, merges, err := s.svc.Autoscale(context.Background()); err != nil {
				s.log.Warn("on-demand scaling failed", "err", err)
			} else if splits+merges > 0 {
				s.log.Info("on-demand scaling", "splits", splits, "merges", merges)
			}
		case <-t.C:
			if err := s.svc.Sweep(context.Background()); err != nil {
				s.log.Warn("sweep failed", "err", err)
			}
		}
	}
}

// Autoscale runs one on-demand scaling pass now (tests).
func (s *Server) Autoscale(ctx context.Context) (int, int, error) { return s.svc.Autoscale(ctx) }

// Sweep runs one retention sweep now (tests and operators).
func (s *Server) Sweep(ctx context.Context) error { return s.svc.Sweep(ctx) }

// RecordLog presents a streamlog as the datastream domain's RecordLog (the
// adapter the composition root supplies; tests of the domain reuse it).
func RecordLog(l *streamlog.Log) datastream.RecordLog { return logAdapter{l} }

// logAdapter presents the streamlog as the datastream domain's RecordLog.
type logAdapter struct{ l *streamlog.Log }

func (a logAdapter) Append(ctx context.Context, fence uint64, entries []datastream.LogEntry) ([]datastream.LogPosition, error) {
	es := make([]streamlog.Entry, len(entries))
	for i, e := range entries {
		es[i] = streamlog.Entry{Shard: e.Shard, PartitionKey: e.PartitionKey, Data: e.Data, Flags: e.Flags}
	}
	res, err := a.l.Append(ctx, fence, es)
	if err != nil {
		return nil, err
	}
	out := make([]datastream.LogPosition, len(res))
	for i, r := range res {
		out[i] = datastream.LogPosition{Counter: r.Seq, Timestamp: r.Timestamp}
	}
	return out, nil
}

func (a logAdapter) Read(shard, from uint64, maxRecords, maxBytes int, minTs int64) ([]datastream.LogRecord, error) {
	recs, err := a.l.Read(shard, from, streamlog.ReadOptions{MaxRecords: maxRecords, MaxBytes: maxBytes, MinTimestamp: minTs})
	out := make([]datastream.LogRecord, len(recs))
	for i, r := range recs {
		out[i] = datastream.LogRecord{Counter: r.Seq, Timestamp: r.Timestamp, PartitionKey: r.PartitionKey, Data: r.Data, Flags: r.Flags}
	}
	return out, err
}

func (a logAdapter) SeekTime(shard uint64, ts int64) (uint64, error) { return a.l.SeekTime(shard, ts) }

func (a logAdapter) Next(shard uint64) uint64 { return a.l.Bounds(shard).Next }

func (a logAdapter) Changed() <-chan struct{} { return a.l.Changed() }

func (a logAdapter) Sweep(ctx context.Context, policy func(uint64) (int64, bool)) error {
	_, err := a.l.Sweep(ctx, policy)
	return err
}

// startPprof serves the runtime profiles on their own listener.
func (s *Server) startPprof() {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ps := &http.Server{Addr: s.cfg.PprofAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-s.stop
		ps.Close()
	}()
	go func() {
		if err := ps.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("pprof listener", "err", err)
		}
	}()
	s.log.Info("pprof", "addr", s.cfg.PprofAddr)
}
