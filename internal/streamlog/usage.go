package streamlog

// KeyUsage is the storage one log key's records take.
type KeyUsage struct {
	// LocalBytes is the length of the key's sections in segments on local
	// disk: the active segment, sealed ones and those waiting for upload.
	LocalBytes int64
	// TieredBytes is the length of its sections in segments held only in
	// the blob store (tiered storage).
	TieredBytes int64
	// Sections is how many sections they are.
	Sections int
}

// KeyUsage returns the bytes the sections of a log key (a shard) hold, on
// local disk and in the blob store. It reads only that key's index
// entries (the in-memory ones of the active segment and, from the index
// files, its entries in each sealed segment), so it costs in proportion
// to the key's sections. Sections below the key's trim that still lie in
// a segment not yet deleted or compacted count: they take the space until
// a sweep reclaims it. Segment and index headers, shared by every key of
// a segment, do not. An unknown key uses nothing.
func (l *Log) KeyUsage(shard uint64) (KeyUsage, error) {
	// Copy the references and hold the segments, as view does, so that a
	// sweep or compaction meanwhile cannot close the index files read.
	l.mu.RLock()
	s := l.shards[shard]
	if s == nil {
		l.mu.RUnlock()
		return KeyUsage{}, nil
	}
	sealed := append([]sealedRef(nil), s.sealed...)
	active := s.active
	for _, r := range sealed {
		r.seg.acquire()
	}
	l.mu.RUnlock()
	defer func() {
		for _, r := range sealed {
			r.seg.release()
		}
	}()
	var u KeyUsage
	for _, e := range active {
		u.LocalBytes += int64(e.length)
	}
	u.Sections = len(active)
	for _, r := range sealed {
		es, err := r.entries()
		if err != nil {
			return KeyUsage{}, err
		}
		var n int64
		for _, e := range es {
			n += int64(e.length)
		}
		if r.seg.remote {
			u.TieredBytes += n
		} else {
			u.LocalBytes += n
		}
		u.Sections += len(es)
	}
	return u, nil
}
