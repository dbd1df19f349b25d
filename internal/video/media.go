package video

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The data plane: fragments of a video stream in the shared record log.
//
// A stream that has received media owns two log keys, allocated together
// from the server's one allocator on its first PutMedia and recorded in
// "video/{account}/{region}/media/{name}" with the stream's creation time
// (a stream deleted and created again under the name gets new keys):
//
//	key K   (index)  one 45-byte entry per fragment, below
//	key K+1 (media)  one record per fragment: the Cluster element as the
//	                 producer sent it (size field normalised to 8 bytes)
//
// The stream's headers (EBML header, Info, Tracks) are stored once per
// change in the same metadata record, numbered; each index entry names
// its header. A fragment is appended to the media key, then its entry to
// the index key (each append one group commit, fsynced), and only then
// acknowledged PERSISTED: an index entry always names a durable cluster;
// a crash between the two leaves a cluster no entry names, which the
// sweep drops with its age.
//
// Index entry (big-endian; part of the format):
//
//	0   u8   version (1)
//	1   u64  media record's counter on key K+1
//	9   i64  producer timestamp, unix ms
//	17  i64  server timestamp (first byte received), unix ms
//	25  i64  fragment timecode as sent, ms
//	33  u32  duration, ms
//	37  u32  size of the cluster, bytes
//	41  u32  header id
//
// Fragment numbers are 47 decimal digits: "9", the index key (20 digits),
// the entry's counter on it (20 digits), "000000". Within a stream string
// order is numeric order is ingest order, and a number is looked up in
// O(1) (its key and counter).
//
// Retention: the log's sweep asks RetainedFrom for every key; a stream's
// two keys keep records from now − DataRetentionInHours; keys of streams
// that no longer exist are not claimed, so the sweep drops them.

const (
	indexEntryLen     = 45
	indexVersion      = 1
	fragmentNumberLen = 47
)

// FragmentLog is the shared record log as the data plane uses it (the
// server adapts streamlog.Log). Append returns once the record is durable.
type FragmentLog interface {
	// Append appends one record to key and returns its counter and
	// timestamp (unix ms) once it is fsynced.
	Append(ctx context.Context, key uint64, data []byte) (seq uint64, ts int64, err error)
	// Read returns up to max records of key with counters >= from and
	// timestamps >= minTs, in counter order.
	Read(key, from uint64, max int, minTs int64) ([]LogRecord, error)
	// ReadData returns the data of the record of key with counter seq
	// (ok=false if it is gone).
	ReadData(key, seq uint64) (data []byte, ok bool, err error)
	// Next is the counter the next record appended to key will get.
	Next(key uint64) uint64
	// Changed is closed at the next commit (then replaced).
	Changed() <-chan struct{}
}

// LogRecord is a record read from the FragmentLog.
type LogRecord struct {
	Seq       uint64
	Timestamp int64 // unix ms, the commit's
	Data      []byte
}

// LogKeys allocates keys of the shared record log.
type LogKeys interface {
	Allocate(ctx context.Context, n int) (uint64, error)
}

// MediaConfig configures the data plane.
type MediaConfig struct {
	// MaxFragmentDuration is the longest fragment PutMedia takes (error
	// 4002). Default 10 s.
	MaxFragmentDuration time.Duration
	// MaxFragmentBytes is the largest fragment (error 4001). Default 50 MB.
	MaxFragmentBytes int64
	// PlaybackIdle ends a GetMedia response after this long without a new
	// fragment. Default 10 s.
	PlaybackIdle time.Duration
	// RetentionRefresh is how long RetainedFrom trusts its table of keys
	// before reading the metadata again. Default 5 s.
	RetentionRefresh time.Duration
}

// Media is the data plane of video streams: ingest (PutMedia), the
// fragment index (ListFragments) and playback (GetMedia,
// GetMediaForFragmentList). It is safe for concurrent use.
type Media struct {
	svc  *Service
	log  FragmentLog
	keys LogKeys
	cfg  MediaConfig

	mu      sync.Mutex             // guards ingests
	ingests map[uint64]*ingestSlot // by index key: the one PutMedia per stream

	ret retention
}

type ingestSlot struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// retention is the table RetainedFrom answers from.
type retention struct {
	mu     sync.Mutex // guards the fields below; held across a reload
	loaded time.Time
	hours  map[uint64]int // log key → DataRetentionInHours
}

// NewMedia returns the data plane over the control plane svc, the shared
// log and its key allocator.
func NewMedia(svc *Service, cfg MediaConfig, log FragmentLog, keys LogKeys) *Media {
	if cfg.MaxFragmentDuration <= 0 {
		cfg.MaxFragmentDuration = 10 * time.Second
	}
	if cfg.MaxFragmentBytes <= 0 {
		cfg.MaxFragmentBytes = 50_000_000
	}
	if cfg.PlaybackIdle <= 0 {
		cfg.PlaybackIdle = 10 * time.Second
	}
	if cfg.RetentionRefresh <= 0 {
		cfg.RetentionRefresh = 5 * time.Second
	}
	return &Media{svc: svc, log: log, keys: keys, cfg: cfg, ingests: map[uint64]*ingestSlot{}}
}

// mediaState is a stream's data-plane record.
type mediaState struct {
	Created  time.Time      `json:"created"` // the stream's creation time
	IndexKey uint64         `json:"indexKey"`
	Headers  []storedHeader `json:"headers,omitempty"`
}

type storedHeader struct {
	ID     uint32 `json:"id"`
	EBML   []byte `json:"ebml"`
	Info   []byte `json:"info"`
	Tracks []byte `json:"tracks"`
}

func (m *mediaState) mediaKey() uint64 { return m.IndexKey + 1 }

func (m *mediaState) header(id uint32) *storedHeader {
	for i := range m.Headers {
		if m.Headers[i].ID == id {
			return &m.Headers[i]
		}
	}
	return nil
}

func mediaKey(st *Stream) string {
	return recordKey(Scope{Account: st.Account, Region: st.Region}, "media", st.Name)
}

// loadMedia reads the stream's media record; nil when the stream has none
// (or only a former stream of the name had one).
func (m *Media) loadMedia(ctx context.Context, st *Stream) (*mediaState, uint64, error) {
	b, rev, err := m.svc.meta.Get(ctx, mediaKey(st))
	if err != nil {
		return nil, 0, internal(err)
	}
	if b == nil {
		return nil, 0, nil
	}
	var ms mediaState
	if err := json.Unmarshal(b, &ms); err != nil {
		return nil, 0, internal(fmt.Errorf("media record of %s: %w", st.Name, err))
	}
	if !ms.Created.Equal(st.Created) {
		return nil, rev, nil
	}
	return &ms, rev, nil
}

// ensureMedia returns the stream's media record, creating it (with newly
// allocated log keys) on first use.
func (m *Media) ensureMedia(ctx context.Context, st *Stream) (*mediaState, error) {
	for range maxCommitAttempts {
		ms, rev, err := m.loadMedia(ctx, st)
		if err != nil || ms != nil {
			return ms, err
		}
		k, err := m.keys.Allocate(ctx, 2)
		if err != nil {
			return nil, internal(err)
		}
		ms = &mediaState{Created: st.Created, IndexKey: k}
		b, _ := json.Marshal(ms)
		// Claim the keys before any record lands under them, so that a
		// sweep never takes them for unowned.
		m.claim(ms.IndexKey, st.RetentionHours)
		ok, _, err := m.svc.meta.Commit(ctx, map[string]uint64{mediaKey(st): rev}, map[string][]byte{mediaKey(st): b}, nil)
		if err != nil {
			return nil, internal(err)
		}
		if ok {
			return ms, nil
		}
	}
	return nil, internal(errors.New("media record: too many conflicting commits"))
}

// headerID returns the id of the stream's header with these bytes,
// storing it as a new header if the stream has none equal.
func (m *Media) headerID(ctx context.Context, st *Stream, ebml, info, tracks []byte) (uint32, error) {
	for range maxCommitAttempts {
		b, rev, err := m.svc.meta.Get(ctx, mediaKey(st))
		if err != nil {
			return 0, internal(err)
		}
		var ms mediaState
		if b == nil || json.Unmarshal(b, &ms) != nil || !ms.Created.Equal(st.Created) {
			return 0, errorf(KindNotFound, "The media record of stream %s is gone.", st.Name)
		}
		var top uint32
		for _, h := range ms.Headers {
			if string(h.EBML) == string(ebml) && string(h.Info) == string(info) && string(h.Tracks) == string(tracks) {
				return h.ID, nil
			}
			top = max(top, h.ID)
		}
		h := storedHeader{ID: top + 1, EBML: ebml, Info: info, Tracks: tracks}
		ms.Headers = append(ms.Headers, h)
		nb, _ := json.Marshal(&ms)
		ok, _, err := m.svc.meta.Commit(ctx, map[string]uint64{mediaKey(st): rev}, map[string][]byte{mediaKey(st): nb}, nil)
		if err != nil {
			return 0, internal(err)
		}
		if ok {
			return h.ID, nil
		}
	}
	return 0, internal(errors.New("media record: too many conflicting commits"))
}

// Fragment is one fragment's index entry.
type Fragment struct {
	// Number is the 47-digit fragment number.
	Number string
	// Seq is the entry's counter on the index key.
	Seq uint64
	// MediaSeq is the cluster's counter on the media key.
	MediaSeq uint64
	// Producer and Server are the producer's and the server's timestamps.
	Producer, Server time.Time
	// Timecode is the fragment timecode as the producer sent it (ms).
	Timecode int64
	// Duration is the fragment's length; Size its cluster's bytes.
	Duration time.Duration
	Size     int64
	// Header is the id of the stream header it plays with.
	Header uint32
	// Stored is when it was committed (the log's timestamp).
	Stored time.Time
}

func fragmentNumber(indexKey, seq uint64) string {
	return fmt.Sprintf("9%020d%020d000000", indexKey, seq)
}

// parseFragmentNumber returns the index key and counter of a fragment
// number of this server.
func parseFragmentNumber(n string) (key, seq uint64, ok bool) {
	if len(n) != fragmentNumberLen || n[0] != '9' || !strings.HasSuffix(n, "000000") {
		return 0, 0, false
	}
	k, err1 := strconv.ParseUint(n[1:21], 10, 64)
	s, err2 := strconv.ParseUint(n[21:41], 10, 64)
	return k, s, err1 == nil && err2 == nil
}

func encodeEntry(f *Fragment) []byte {
	b := make([]byte, indexEntryLen)
	b[0] = indexVersion
	binary.BigEndian.PutUint64(b[1:], f.MediaSeq)
	binary.BigEndian.PutUint64(b[9:], uint64(f.Producer.UnixMilli()))
	binary.BigEndian.PutUint64(b[17:], uint64(f.Server.UnixMilli()))
	binary.BigEndian.PutUint64(b[25:], uint64(f.Timecode))
	binary.BigEndian.PutUint32(b[33:], uint32(f.Duration.Milliseconds()))
	binary.BigEndian.PutUint32(b[37:], uint32(f.Size))
	binary.BigEndian.PutUint32(b[41:], f.Header)
	return b
}

func decodeEntry(indexKey uint64, r LogRecord) (Fragment, bool) {
	b := r.Data
	if len(b) != indexEntryLen || b[0] != indexVersion {
		return Fragment{}, false
	}
	return Fragment{
		Number:   fragmentNumber(indexKey, r.Seq),
		Seq:      r.Seq,
		MediaSeq: binary.BigEndian.Uint64(b[1:]),
		Producer: time.UnixMilli(int64(binary.BigEndian.Uint64(b[9:]))),
		Server:   time.UnixMilli(int64(binary.BigEndian.Uint64(b[17:]))),
		Timecode: int64(binary.BigEndian.Uint64(b[25:])),
		Duration: time.Duration(binary.BigEndian.Uint32(b[33:])) * time.Millisecond,
		Size:     int64(binary.BigEndian.Uint32(b[37:])),
		Header:   binary.BigEndian.Uint32(b[41:]),
		Stored:   time.UnixMilli(r.Timestamp),
	}, true
}

// minTs is the oldest log timestamp the stream's retention keeps.
func (m *Media) minTs(st *Stream) int64 {
	return m.svc.cfg.Now().Add(-time.Duration(st.RetentionHours) * time.Hour).UnixMilli()
}

// readIndex returns up to max retained fragments from counter from on.
func (m *Media) readIndex(st *Stream, ms *mediaState, from uint64, max int) ([]Fragment, error) {
	recs, err := m.log.Read(ms.IndexKey, from, max, m.minTs(st))
	if err != nil {
		return nil, internal(err)
	}
	out := make([]Fragment, 0, len(recs))
	for _, r := range recs {
		if f, ok := decodeEntry(ms.IndexKey, r); ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// eachFragment calls fn for every retained fragment in ingest order until
// fn returns false.
func (m *Media) eachFragment(st *Stream, ms *mediaState, from uint64, fn func(Fragment) bool) error {
	for {
		fs, err := m.readIndex(st, ms, from, 10000)
		if err != nil || len(fs) == 0 {
			return err
		}
		for _, f := range fs {
			if !fn(f) {
				return nil
			}
		}
		from = fs[len(fs)-1].Seq + 1
	}
}

// Timestamp selector types (ListFragments' FragmentSelectorType, GetMedia's
// StartSelectorType).
const (
	ProducerTimestamp = "PRODUCER_TIMESTAMP"
	ServerTimestamp   = "SERVER_TIMESTAMP"
)

// FragmentQuery selects fragments for ListFragments.
type FragmentQuery struct {
	// Type is "", PRODUCER_TIMESTAMP or SERVER_TIMESTAMP; with a type,
	// fragments whose timestamp lies in [Start, End] are listed.
	Type       string
	Start, End time.Time
	// After is the counter to list from (a NextToken's), 0 for the start.
	After uint64
	// Max bounds the page (1..1000).
	Max int
}

// ListFragments lists a stream's retained fragments (in ingest order) and
// the counter of the next page, 0 when there is none.
func (m *Media) ListFragments(ctx context.Context, sc Scope, ref StreamRef, q FragmentQuery) ([]Fragment, uint64, error) {
	st, ms, err := m.resolveMedia(ctx, sc, ref)
	if err != nil || ms == nil {
		return nil, 0, err
	}
	var out []Fragment
	var next uint64
	err = m.eachFragment(st, ms, q.After, func(f Fragment) bool {
		if q.Type != "" {
			ts := f.Producer
			if q.Type == ServerTimestamp {
				ts = f.Server
			}
			if ts.Before(q.Start) || ts.After(q.End) {
				return true
			}
		}
		if len(out) == q.Max {
			next = f.Seq
			return false
		}
		out = append(out, f)
		return true
	})
	return out, next, err
}

// resolveMedia resolves a stream and its media record (nil if it has
// received no media).
func (m *Media) resolveMedia(ctx context.Context, sc Scope, ref StreamRef) (*Stream, *mediaState, error) {
	st, err := m.svc.Resolve(ctx, sc, ref)
	if err != nil {
		return nil, nil, err
	}
	ms, _, err := m.loadMedia(ctx, st)
	return st, ms, err
}

// RetainedFrom tells the log's sweep, for a key a video stream owns, the
// oldest timestamp (unix ms) it retains; ok=false for a key no existing
// stream owns.
func (m *Media) RetainedFrom(key uint64) (int64, bool) {
	m.ret.mu.Lock()
	defer m.ret.mu.Unlock()
	now := m.svc.cfg.Now()
	if m.ret.hours == nil || now.Sub(m.ret.loaded) > m.cfg.RetentionRefresh {
		if err := m.reloadRetentionLocked(context.Background(), now); err != nil {
			return 0, true // keep everything rather than guess
		}
	}
	h, ok := m.ret.hours[key]
	if !ok {
		return 0, false
	}
	return now.Add(-time.Duration(h) * time.Hour).UnixMilli(), true
}

// claim records a new stream's keys in the retention table.
func (m *Media) claim(indexKey uint64, hours int) {
	m.ret.mu.Lock()
	defer m.ret.mu.Unlock()
	if m.ret.hours == nil {
		return // loaded from the metadata on first use
	}
	m.ret.hours[indexKey], m.ret.hours[indexKey+1] = hours, hours
}

func (m *Media) reloadRetentionLocked(ctx context.Context, now time.Time) error {
	streams := map[string]*Stream{}
	medias := map[string]*mediaState{}
	err := m.svc.meta.Scan(ctx, keyPrefix, func(key string, v []byte, _ uint64) error {
		parts := strings.Split(strings.TrimPrefix(key, keyPrefix), "/")
		if len(parts) != 4 {
			return nil
		}
		id := parts[0] + "/" + parts[1] + "/" + parts[3]
		switch parts[2] {
		case "stream":
			var st Stream
			if json.Unmarshal(v, &st) == nil && !st.life().goneAt(now) {
				streams[id] = &st
			}
		case "media":
			var ms mediaState
			if json.Unmarshal(v, &ms) == nil {
				medias[id] = &ms
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	hours := map[uint64]int{}
	for id, ms := range medias {
		if st, ok := streams[id]; ok && st.Created.Equal(ms.Created) {
			hours[ms.IndexKey], hours[ms.mediaKey()] = st.RetentionHours, st.RetentionHours
		}
	}
	m.ret.hours, m.ret.loaded = hours, now
	return nil
}

// SweepMedia removes the media records of streams that no longer exist
// (their log keys are then unclaimed and the log's sweep drops them).
func (m *Media) SweepMedia(ctx context.Context) (int, error) {
	now := m.svc.cfg.Now()
	type orphan struct {
		key string
		rev uint64
	}
	var doomed []orphan
	live := map[string]time.Time{}
	type mrec struct {
		key     string
		rev     uint64
		created time.Time
	}
	var medias []mrec
	err := m.svc.meta.Scan(ctx, keyPrefix, func(key string, v []byte, rev uint64) error {
		parts := strings.Split(strings.TrimPrefix(key, keyPrefix), "/")
		if len(parts) != 4 {
			return nil
		}
		switch parts[2] {
		case "stream":
			var st Stream
			if json.Unmarshal(v, &st) == nil && !st.life().goneAt(now) {
				live[parts[0]+"/"+parts[1]+"/"+parts[3]] = st.Created
			}
		case "media":
			var ms mediaState
			if json.Unmarshal(v, &ms) == nil {
				medias = append(medias, mrec{key: key, rev: rev, created: ms.Created})
			}
		}
		return nil
	})
	if err != nil {
		return 0, internal(err)
	}
	for _, r := range medias {
		parts := strings.Split(strings.TrimPrefix(r.key, keyPrefix), "/")
		if c, ok := live[parts[0]+"/"+parts[1]+"/"+parts[3]]; !ok || !c.Equal(r.created) {
			doomed = append(doomed, orphan{r.key, r.rev})
		}
	}
	n := 0
	for _, o := range doomed {
		ok, _, err := m.svc.meta.Commit(ctx, map[string]uint64{o.key: o.rev}, nil, []string{o.key})
		if err != nil {
			return n, internal(err)
		}
		if ok {
			n++
		}
	}
	if n > 0 {
		m.ret.mu.Lock()
		m.ret.hours = nil // reload at the next question
		m.ret.mu.Unlock()
	}
	return n, nil
}

// Stream resolves a stream (the data-plane APIs authorize on its ARN).
func (m *Media) Stream(ctx context.Context, sc Scope, ref StreamRef) (*Stream, error) {
	return m.svc.Resolve(ctx, sc, ref)
}

// AuthResource is what authorization names for a call on ref: the ARN it
// gives, the ARN of the stream its name resolves to, or "*" when the name
// resolves to nothing (the call then fails as not found after it).
func (m *Media) AuthResource(ctx context.Context, sc Scope, ref StreamRef) string {
	if ref.ARN != "" {
		return ref.ARN
	}
	if st, err := m.Stream(ctx, sc, ref); err == nil {
		return st.ARN()
	}
	return "*"
}
