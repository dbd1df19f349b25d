package video

import (
	"context"
	"crypto/rand"
)

// Reads for archived-media playback (HLS, DASH, clips, images): whole
// fragments by number, the newest fragments, and the secret that seals
// playback session tokens. The packaging itself lives outside this
// package; these read what the data plane stored and change nothing of
// its format.

// keySessionSecret holds the 32-byte secret sealing playback session
// tokens (HLS and DASH URLs); created on first use.
const keySessionSecret = keyPrefix + "config/session-secret"

// StreamHeader is the stored description a fragment plays with: whole
// EBML header, Info and Tracks elements as the producer sent them.
type StreamHeader struct {
	ID                 uint32
	EBML, Info, Tracks []byte
}

// FragmentMedia is one fragment read back whole.
type FragmentMedia struct {
	Fragment
	Header StreamHeader
	// Cluster is the whole Cluster element as stored.
	Cluster []byte
}

// ReadFragment returns a retained fragment of the stream with its header
// and cluster; KindNotFound when the number names none.
func (m *Media) ReadFragment(ctx context.Context, sc Scope, ref StreamRef, number string) (*FragmentMedia, error) {
	st, ms, err := m.resolveMedia(ctx, sc, ref)
	if err != nil {
		return nil, err
	}
	k, seq, ok := parseFragmentNumber(number)
	if !ok || ms == nil || k != ms.IndexKey {
		return nil, errorf(KindNotFound, "Fragment %s is not found in stream %s.", number, st.Name)
	}
	fs, err := m.readIndex(st, ms, seq, 1)
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 || fs[0].Seq != seq {
		return nil, errorf(KindNotFound, "Fragment %s is not found in stream %s.", number, st.Name)
	}
	f := fs[0]
	h := ms.header(f.Header)
	if h == nil {
		return nil, errorf(KindInternal, "Fragment %s names header %d, which is not stored.", number, f.Header)
	}
	data, ok, err := m.log.ReadData(ms.mediaKey(), f.MediaSeq)
	if err != nil {
		return nil, internal(err)
	}
	if !ok {
		return nil, errorf(KindNotFound, "Fragment %s is no longer retained in stream %s.", number, st.Name)
	}
	return &FragmentMedia{Fragment: f, Header: StreamHeader{ID: h.ID, EBML: h.EBML, Info: h.Info, Tracks: h.Tracks}, Cluster: data}, nil
}

// NewestFragments returns up to n of the stream's newest retained
// fragments, oldest first (LIVE playback's sliding window).
func (m *Media) NewestFragments(ctx context.Context, sc Scope, ref StreamRef, n int) ([]Fragment, error) {
	st, ms, err := m.resolveMedia(ctx, sc, ref)
	if err != nil || ms == nil || n <= 0 {
		return nil, err
	}
	next := m.log.Next(ms.IndexKey)
	from := uint64(0)
	if next > uint64(n) {
		from = next - uint64(n)
	}
	return m.readIndex(st, ms, from, n)
}

// SessionSecret returns the 32-byte secret that seals playback session
// tokens, creating it on first use. It is kept in the metadata store, so
// tokens stay valid across restarts until they expire.
func (m *Media) SessionSecret(ctx context.Context) ([]byte, error) {
	for range maxCommitAttempts {
		v, _, err := m.svc.meta.Get(ctx, keySessionSecret)
		if err != nil {
			return nil, internal(err)
		}
		if len(v) == 32 {
			return v, nil
		}
		key := make([]byte, 32)
		rand.Read(key)
		ok, _, err := m.svc.meta.Commit(ctx, map[string]uint64{keySessionSecret: 0}, map[string][]byte{keySessionSecret: key}, nil)
		if err != nil {
			return nil, internal(err)
		}
		if ok {
			return key, nil
		}
	}
	return nil, errorf(KindInternal, "session secret: too many conflicting commits")
}
