package video

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/rheos/rheos/internal/video/mkv"
)

// GetMedia start selector types.
const (
	StartNow               = "NOW"
	StartEarliest          = "EARLIEST"
	StartFragmentNumber    = "FRAGMENT_NUMBER"
	StartServerTimestamp   = ServerTimestamp
	StartProducerTimestamp = ProducerTimestamp
	StartContinuationToken = "CONTINUATION_TOKEN"
)

// StartSelector is GetMedia's StartSelector.
type StartSelector struct {
	Type string
	// AfterFragmentNumber (FRAGMENT_NUMBER): start after this fragment.
	AfterFragmentNumber string
	// StartTimestamp (SERVER_/PRODUCER_TIMESTAMP): start at the fragment
	// holding it (or the first after it).
	StartTimestamp time.Time
	// ContinuationToken (CONTINUATION_TOKEN): a fragment number; start
	// after it.
	ContinuationToken string
}

// Playback is a GetMedia or GetMediaForFragmentList response body: one
// Matroska chunk per fragment (see mkv.AppendChunk) with its tags. A
// GetMedia playback follows the stream live and ends after MediaConfig's
// PlaybackIdle without a new fragment, or when its context ends. It is
// not safe for concurrent use; Close releases nothing but is an
// io.Closer for the protocol layer.
type Playback struct {
	m    *Media
	ctx  context.Context
	sc   Scope
	st   *Stream
	ms   *mediaState // nil until the stream has media
	next uint64      // the next index counter to send (live)
	list []Fragment  // GetMediaForFragmentList: what is left to send
	live bool
	buf  []byte
	err  error
}

// GetMedia opens a live playback of the stream from the selector.
func (m *Media) GetMedia(ctx context.Context, sc Scope, ref StreamRef, sel StartSelector) (*Playback, error) {
	st, ms, err := m.resolveMedia(ctx, sc, ref)
	if err != nil {
		return nil, err
	}
	p := &Playback{m: m, ctx: ctx, sc: sc, st: st, ms: ms, live: true}
	afterNumber := func(n, what string) error {
		k, seq, ok := parseFragmentNumber(n)
		if !ok || ms == nil || k != ms.IndexKey {
			return errorf(KindInvalidArgument, "The %s %s is not a fragment of stream %s.", what, n, st.Name)
		}
		p.next = seq + 1
		return nil
	}
	switch sel.Type {
	case StartEarliest:
		p.next = 0
	case StartNow:
		if ms != nil {
			p.next = m.log.Next(ms.IndexKey)
		}
	case StartFragmentNumber:
		if sel.AfterFragmentNumber == "" {
			return nil, errorf(KindInvalidArgument, "AfterFragmentNumber is required with StartSelectorType FRAGMENT_NUMBER.")
		}
		if err := afterNumber(sel.AfterFragmentNumber, "fragment number"); err != nil {
			return nil, err
		}
	case StartContinuationToken:
		if sel.ContinuationToken == "" {
			return nil, errorf(KindInvalidArgument, "ContinuationToken is required with StartSelectorType CONTINUATION_TOKEN.")
		}
		if err := afterNumber(sel.ContinuationToken, "continuation token"); err != nil {
			return nil, err
		}
	case StartServerTimestamp, StartProducerTimestamp:
		if sel.StartTimestamp.IsZero() {
			return nil, errorf(KindInvalidArgument, "StartTimestamp is required with StartSelectorType %s.", sel.Type)
		}
		if ms == nil {
			break
		}
		p.next = m.log.Next(ms.IndexKey)
		err := m.eachFragment(st, ms, 0, func(f Fragment) bool {
			ts := f.Producer
			if sel.Type == StartServerTimestamp {
				ts = f.Server
			}
			if ts.Add(f.Duration).After(sel.StartTimestamp) {
				p.next = f.Seq
				return false
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, errorf(KindInvalidArgument, "StartSelectorType %q is not valid.", sel.Type)
	}
	return p, nil
}

// FragmentsByNumber resolves GetMediaForFragmentList's fragments, in the
// order given; a number that names no retained fragment of the stream is
// KindNotFound.
func (m *Media) FragmentsByNumber(ctx context.Context, sc Scope, ref StreamRef, numbers []string) (*Playback, error) {
	st, ms, err := m.resolveMedia(ctx, sc, ref)
	if err != nil {
		return nil, err
	}
	p := &Playback{m: m, ctx: ctx, sc: sc, st: st, ms: ms}
	for _, n := range numbers {
		k, seq, ok := parseFragmentNumber(n)
		if !ok || ms == nil || k != ms.IndexKey {
			return nil, errorf(KindNotFound, "Fragment %s is not found in stream %s.", n, st.Name)
		}
		fs, err := m.readIndex(st, ms, seq, 1)
		if err != nil {
			return nil, err
		}
		if len(fs) == 0 || fs[0].Seq != seq {
			return nil, errorf(KindNotFound, "Fragment %s is not found in stream %s.", n, st.Name)
		}
		p.list = append(p.list, fs[0])
	}
	return p, nil
}

// Read reads the chunks.
func (p *Playback) Read(b []byte) (int, error) {
	for len(p.buf) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		p.buf, p.err = p.fill(p.buf[:0])
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}

// Close implements io.Closer.
func (p *Playback) Close() error { p.err = io.EOF; p.buf = nil; return nil }

// fill appends the next chunk (or chunks) to dst.
func (p *Playback) fill(dst []byte) ([]byte, error) {
	if !p.live {
		if len(p.list) == 0 {
			return dst, io.EOF
		}
		f := p.list[0]
		p.list = p.list[1:]
		return p.chunk(dst, f, false)
	}
	idle := time.NewTimer(p.m.cfg.PlaybackIdle)
	defer idle.Stop()
	for {
		changed := p.m.log.Changed()
		if p.ms == nil {
			ms, _, err := p.m.loadMedia(p.ctx, p.st)
			if err != nil {
				return dst, err
			}
			p.ms = ms
		}
		if p.ms != nil {
			fs, err := p.m.readIndex(p.st, p.ms, p.next, 1)
			if err != nil {
				return dst, err
			}
			if len(fs) > 0 {
				p.next = fs[0].Seq + 1
				return p.chunk(dst, fs[0], true)
			}
		}
		select {
		case <-changed:
		case <-idle.C:
			return dst, io.EOF
		case <-p.ctx.Done():
			return dst, io.EOF
		}
	}
}

// chunk appends a fragment's Matroska chunk with GetMedia's tags (live)
// or GetMediaForFragmentList's.
func (p *Playback) chunk(dst []byte, f Fragment, live bool) ([]byte, error) {
	h := p.ms.header(f.Header)
	if h == nil { // a header stored after the record was loaded
		ms, _, err := p.m.loadMedia(p.ctx, p.st)
		if err != nil {
			return dst, err
		}
		if ms != nil {
			p.ms = ms
			h = ms.header(f.Header)
		}
		if h == nil {
			return dst, internal(fmt.Errorf("fragment %s names header %d, which is not stored", f.Number, f.Header))
		}
	}
	data, ok, err := p.m.log.ReadData(p.ms.mediaKey(), f.MediaSeq)
	if err != nil {
		return dst, internal(err)
	}
	if !ok {
		return dst, nil // expired meanwhile: skip it
	}
	var tags []mkv.Tag
	if live {
		behind := max(p.m.svc.cfg.Now().Sub(f.Server).Milliseconds(), 0)
		tags = []mkv.Tag{
			{Name: "AWS_KINESISVIDEO_FRAGMENT_NUMBER", Value: f.Number},
			{Name: "AWS_KINESISVIDEO_SERVER_TIMESTAMP", Value: Seconds(f.Server)},
			{Name: "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", Value: Seconds(f.Producer)},
			{Name: "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", Value: strconv.FormatInt(behind, 10)},
			{Name: "AWS_KINESISVIDEO_CONTINUATION_TOKEN", Value: f.Number},
		}
	} else {
		tags = []mkv.Tag{
			{Name: "AWS_KINESISVIDEO_FRAGMENT_NUMBER", Value: f.Number},
			{Name: "AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP", Value: Seconds(f.Server)},
			{Name: "AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP", Value: Seconds(f.Producer)},
		}
	}
	return mkv.AppendChunk(dst, h.EBML, h.Info, h.Tracks, data, tags), nil
}

// Seconds formats a time as KVS's tags do: epoch seconds with three
// decimals ("1767225602.000").
func Seconds(t time.Time) string {
	ms := t.UnixMilli()
	return fmt.Sprintf("%d.%03d", ms/1000, ms%1000)
}
