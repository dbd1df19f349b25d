package video

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/rheos/rheos/internal/video/mkv"
)

// Ack event types (PutMedia's EventType).
const (
	AckBuffering = "BUFFERING"
	AckReceived  = "RECEIVED"
	AckPersisted = "PERSISTED"
	AckError     = "ERROR"
	AckIdle      = "IDLE"
)

// PutMedia error ids (AWS's ErrorId values).
const (
	ErrIDRead            = 4000 // the body could not be read
	ErrIDFragmentSize    = 4001 // a fragment over MaxFragmentBytes
	ErrIDFragmentLength  = 4002 // a fragment over MaxFragmentDuration
	ErrIDTimecodeLower   = 4004 // a fragment timecode lower than the previous one
	ErrIDInvalidMKV      = 4006 // not valid Matroska
	ErrIDProducerTS      = 4007 // a bad producer timestamp
	ErrIDStreamDeleted   = 4008 // the stream was deleted during the upload
	ErrIDUnknownTrack    = 4010 // a block of a track Tracks does not declare
	ErrIDTooManyTracks   = 4012 // more tracks than allowed
	ErrIDInternal        = 5000
	ErrIDPersistFailed   = 5001 // the fragment could not be made durable
	timecodeRelative     = "RELATIVE"
	timecodeAbsolute     = "ABSOLUTE"
	maxProducerTimestamp = 1 << 45 // ms, about year 3084
)

// Ack is one acknowledgement of PutMedia.
type Ack struct {
	EventType        string
	FragmentTimecode int64
	FragmentNumber   string
	ErrorID          int
}

// PutOptions are PutMedia's headers.
type PutOptions struct {
	// TimecodeType is ABSOLUTE or RELATIVE (x-amzn-fragment-timecode-type);
	// default ABSOLUTE.
	TimecodeType string
	// ProducerStart is x-amzn-producer-start-timestamp (RELATIVE adds
	// cluster timecodes to it); zero means the time the request began.
	ProducerStart time.Time
}

// Ingest is one PutMedia upload into a stream; it holds the stream's
// ingest slot (one upload per stream: a newer one ends the older, as AWS
// does) until Close.
type Ingest struct {
	m    *Media
	st   *Stream
	ms   *mediaState
	ctx  context.Context
	slot *ingestSlot
}

// OpenIngest resolves the stream for a PutMedia upload. Errors are domain
// errors (KindNotFound for an unknown stream) answered before any ack.
func (m *Media) OpenIngest(ctx context.Context, sc Scope, ref StreamRef) (*Ingest, error) {
	st, err := m.svc.Resolve(ctx, sc, ref)
	if err != nil {
		return nil, err
	}
	if st.Status != StatusActive && st.Status != StatusUpdating {
		return nil, errorf(KindInUse, "The stream %s is not ACTIVE (it is %s).", st.Name, st.Status)
	}
	ms, err := m.ensureMedia(ctx, st)
	if err != nil {
		return nil, err
	}
	ictx, cancel := context.WithCancel(ctx)
	slot := &ingestSlot{cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	old := m.ingests[ms.IndexKey]
	m.ingests[ms.IndexKey] = slot
	m.mu.Unlock()
	if old != nil {
		old.cancel()
		select {
		case <-old.done:
		case <-ctx.Done():
			m.release(ms.IndexKey, slot)
			return nil, ctx.Err()
		}
	}
	return &Ingest{m: m, st: st, ms: ms, ctx: ictx, slot: slot}, nil
}

func (m *Media) release(key uint64, slot *ingestSlot) {
	m.mu.Lock()
	if m.ingests[key] == slot {
		delete(m.ingests, key)
	}
	m.mu.Unlock()
	slot.cancel()
	close(slot.done)
}

// Close releases the stream's ingest slot.
func (in *Ingest) Close() { in.m.release(in.ms.IndexKey, in.slot) }

// Context is done when the upload should stop (the client went, or a
// newer upload to the stream took over).
func (in *Ingest) Context() context.Context { return in.ctx }

// Run reads the body and calls ack for every event, in order: per
// fragment BUFFERING (its cluster began), RECEIVED (complete), then
// PERSISTED (durable; only when the stream retains data) or ERROR, after
// which the upload ends. It returns nil at the end of the body or after
// an ERROR ack, the error of ack if writing one failed, or the context's
// error.
func (in *Ingest) Run(body io.Reader, opts PutOptions, ack func(Ack) error) error {
	m, st := in.m, in.st
	now := m.svc.cfg.Now
	if opts.ProducerStart.IsZero() {
		opts.ProducerStart = now()
	}
	relative := opts.TimecodeType == timecodeRelative
	r := mkv.NewReader(body, mkv.Limits{MaxClusterBytes: m.cfg.MaxFragmentBytes})
	var (
		hdr          *mkv.Header
		hdrID        uint32
		serverTs     time.Time
		timecode     int64
		lastProducer = int64(-1)
		volatile     uint64 // fragments numbered but not stored (retention 0)
	)
	number := func() string {
		return fragmentNumber(in.ms.IndexKey, m.log.Next(in.ms.IndexKey)+volatile)
	}
	fail := func(id int) error {
		if err := in.ctx.Err(); err != nil {
			return err
		}
		return ack(Ack{EventType: AckError, FragmentTimecode: timecode, FragmentNumber: number(), ErrorID: id})
	}
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fail(errorID(err))
		}
		switch ev.Kind {
		case mkv.KindHeader:
			hdr, hdrID = ev.Header, 0
		case mkv.KindClusterStart:
			serverTs, timecode = now(), ev.Timecode
			if err := ack(Ack{EventType: AckBuffering, FragmentTimecode: timecode, FragmentNumber: number()}); err != nil {
				return err
			}
		case mkv.KindCluster:
			c := ev.Cluster
			producer := c.Timecode
			if relative {
				producer += opts.ProducerStart.UnixMilli()
			}
			switch {
			case time.Duration(c.Duration)*time.Millisecond > m.cfg.MaxFragmentDuration:
				return fail(ErrIDFragmentLength)
			case producer < lastProducer:
				return fail(ErrIDTimecodeLower)
			case producer > maxProducerTimestamp:
				return fail(ErrIDProducerTS)
			}
			lastProducer = producer
			if err := ack(Ack{EventType: AckReceived, FragmentTimecode: timecode, FragmentNumber: number()}); err != nil {
				return err
			}
			if st.RetentionHours == 0 {
				volatile++
				continue
			}
			cur, err := m.svc.Resolve(in.ctx, Scope{Account: st.Account, Region: st.Region}, StreamRef{Name: st.Name})
			if err != nil || !cur.Created.Equal(st.Created) || cur.Status == StatusDeleting {
				var de *Error
				if err != nil && (!errors.As(err, &de) || de.Kind != KindNotFound) {
					return fail(ErrIDInternal)
				}
				return fail(ErrIDStreamDeleted)
			}
			if hdrID == 0 {
				if hdrID, err = m.headerID(in.ctx, st, hdr.EBML, hdr.Info, hdr.Tracks); err != nil {
					return fail(ErrIDPersistFailed)
				}
			}
			f := &Fragment{Producer: time.UnixMilli(producer), Server: serverTs, Timecode: timecode,
				Duration: time.Duration(c.Duration) * time.Millisecond, Size: int64(len(c.Raw)), Header: hdrID}
			if f.MediaSeq, _, err = m.log.Append(in.ctx, in.ms.mediaKey(), c.Raw); err != nil {
				return fail(ErrIDPersistFailed)
			}
			seq, _, err := m.log.Append(in.ctx, in.ms.IndexKey, encodeEntry(f))
			if err != nil {
				return fail(ErrIDPersistFailed)
			}
			if err := ack(Ack{EventType: AckPersisted, FragmentTimecode: timecode, FragmentNumber: fragmentNumber(in.ms.IndexKey, seq)}); err != nil {
				return err
			}
		}
	}
}

// errorID maps a reader error to AWS's error id.
func errorID(err error) int {
	switch {
	case errors.Is(err, mkv.ErrTooLarge):
		return ErrIDFragmentSize
	case errors.Is(err, mkv.ErrTooManyTracks):
		return ErrIDTooManyTracks
	case errors.Is(err, mkv.ErrUnknownTrack):
		return ErrIDUnknownTrack
	case errors.Is(err, mkv.ErrInvalid):
		return ErrIDInvalidMKV
	}
	return ErrIDRead
}
