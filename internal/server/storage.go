package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/blob"
	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/envelope"
	"github.com/rheos/rheos/internal/metastore"
	"github.com/rheos/rheos/internal/metrics"
	"github.com/rheos/rheos/internal/streamlog"
	"github.com/rheos/rheos/internal/vfs"
)

// storage is what every service shares: the metadata store, the one record
// log (and so its group commit) with the node's fence token, the key
// provider for encryption at rest, and the owners of the log's keys, whose
// retention the sweep composes.
type storage struct {
	lock *dirLock
	// meta is the embedded store (bbolt in the data directory) or etcd
	// (Storage.Meta); metaDesc names it for `rheos cluster status`.
	meta      metastore.KV
	metaDesc  string
	closeMeta func() error
	// blobs is where sealed segments are tiered (Storage.Blobs), nil when
	// they all stay local; blobsDesc names it.
	blobs     blob.Store
	blobsDesc string
	log       *streamlog.Log
	fence     uint64
	keys      envelope.KeyProvider
	// logKeys hands out the record log's keys to every service (one
	// server-wide sequence in the metadata store): a service's shards,
	// buffers or fragment stores never share a key.
	logKeys *metastore.Sequence

	mu     sync.Mutex // guards owners
	owners []logOwner
}

// logOwner is a service's claim on keys of the shared record log: for a
// key it owns, the oldest timestamp still retained.
type logOwner struct {
	name string
	// retainedFrom returns, for a key the owner holds, the minimum timestamp
	// (ms) still retained, and ok=false for a key it does not hold.
	retainedFrom func(key uint64) (minTs int64, ok bool)
}

// openStorage opens the data directory's stores. On error nothing stays open.
func openStorage(ctx context.Context, cfg config.Config, opts Options, now func() time.Time, met *metrics.Metrics) (_ *storage, err error) {
	fs := opts.FS
	if fs == nil {
		fs = vfs.OS{}
	}
	if err := (vfs.OS{}).MkdirAll(cfg.DataDir); err != nil {
		return nil, err
	}
	if err := tightenDataDir(cfg.DataDir, opts.logger); err != nil {
		return nil, err
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.unlock()
		}
	}()
	meta, metaDesc, closeMeta, err := openMeta(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			closeMeta()
		}
	}()
	blobs, blobsDesc, err := openBlobs(ctx, cfg)
	if err != nil {
		return nil, err
	}
	fence, err := nextEpoch(ctx, meta)
	if err != nil {
		return nil, err
	}
	var keys envelope.KeyProvider
	if cfg.KMSEndpoint != "" {
		if cfg.KMSRegion == "" {
			cfg.KMSRegion = cfg.Region
		}
		keys = newKMSProvider(cfg)
	} else {
		path := cfg.KeyringPath()
		if err := (vfs.OS{}).MkdirAll(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("keyring directory: %w", err)
		}
		kr, kerr := envelope.OpenKeyring(path)
		if kerr != nil {
			return nil, kerr
		}
		keys = kr
	}
	var tier *streamlog.TierOptions
	if blobs != nil {
		tier = &streamlog.TierOptions{Store: blobs, CacheBytes: cfg.CacheBytes, LocalLimitBytes: cfg.LocalLimitBytes,
			UploadBytesPerSec: cfg.UploadBytesPerSec}
	}
	rlog, err := streamlog.Open(streamlog.Options{
		FS: fs, Dir: filepath.Join(cfg.DataDir, "log"), SegmentBytes: cfg.SegmentBytes,
		SegmentAge: time.Duration(cfg.SegmentAge), CompactBelow: compactBelow(cfg.CompactBelow), CachedSegments: cfg.CachedSegments, Now: now, Logger: opts.logger,
		OnEvent: func(e streamlog.Event) { met.LogEvent(e.Kind) }, OnCommit: met.Commit, Tier: tier,
	})
	if err != nil {
		return nil, fmt.Errorf("opening record log: %w", err)
	}
	rlog.SetFence(fence)
	met.WatchLog(func() (int, int64) { st := rlog.Stats(); return st.Segments, st.PendingBytes })
	if tier != nil {
		met.WatchTier(func() metrics.TierSample {
			t := rlog.Stats().Tier
			return metrics.TierSample{TieredSegments: int64(t.TieredSegments), BacklogSegments: int64(t.BacklogSegments),
				TieredBytes: t.TieredBytes, BacklogBytes: t.BacklogBytes, CacheBytes: t.CacheBytes, CacheHits: t.CacheHits,
				CacheMisses: t.CacheMisses, Uploads: t.Uploads, Failures: t.UploadFailures}
		})
	}
	return &storage{lock: lock, meta: meta, metaDesc: metaDesc, closeMeta: closeMeta, blobs: blobs, blobsDesc: blobsDesc,
		log: rlog, fence: fence, keys: keys, logKeys: metastore.LogKeys(meta)}, nil
}

// own registers a service's claim on log keys.
func (s *storage) own(o logOwner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owners = append(s.owners, o)
}

// retention is the log's retention policy composed from every owner: a key
// some owner holds keeps its records from that owner's minimum timestamp; a
// key no owner holds (its stream, buffer or fragment store was deleted) is
// dropped.
func (s *storage) retention(key uint64) (minTs int64, drop bool) {
	s.mu.Lock()
	owners := s.owners
	s.mu.Unlock()
	for _, o := range owners {
		if ts, ok := o.retainedFrom(key); ok {
			return ts, false
		}
	}
	return 0, true
}

// sweep applies the composed retention to the log: expired records and
// dropped keys lose their space.
func (s *storage) sweep(ctx context.Context) error {
	_, err := s.log.Sweep(ctx, s.retention)
	return err
}

// close closes the log, then the metadata store, then releases the data
// directory.
func (s *storage) close() error {
	err := s.log.Close()
	if cerr := s.closeMeta(); err == nil {
		err = cerr
	}
	if cerr := s.lock.unlock(); err == nil {
		err = cerr
	}
	return err
}

// nextEpoch increments the node's epoch in a CAS transaction; it is the
// fence token of this incarnation's appends.
func nextEpoch(ctx context.Context, meta metastore.KV) (uint64, error) {
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

// compactBelow turns the configuration's "0 or less never compacts" into
// streamlog's (0 means its default, negative disables).
func compactBelow(f float64) float64 {
	if f <= 0 {
		return -1
	}
	return f
}
