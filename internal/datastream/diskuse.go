package datastream

import "sort"

// StreamDiskUse is the storage one stream's records take.
type StreamDiskUse struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	// Shards counts the shards holding log keys, open and closed.
	Shards int `json:"shards"`
	// LocalBytes are on local disk, TieredBytes in the blob store.
	LocalBytes  int64 `json:"localBytes"`
	TieredBytes int64 `json:"tieredBytes"`
}

// DiskUse returns every stream's storage, by account, region and name: the
// sum over its shards' log keys of what usage reports (the RecordLog knows
// keys, not streams, so the composition root supplies usage from it). A
// stream being deleted is listed while it holds its keys: its records take
// space until the log sweep after its deletion. Read-only; usage is called
// with no lock held.
func (s *Service) DiskUse(usage func(key uint64) (local, tiered int64, err error)) ([]StreamDiskUse, error) {
	now := s.now()
	s.mu.RLock()
	metas := make([]*streamMeta, 0, len(s.streams))
	for _, st := range s.streams {
		metas = append(metas, st.meta) // immutable snapshots
	}
	s.mu.RUnlock()
	out := make([]StreamDiskUse, 0, len(metas))
	for _, m := range metas {
		d := StreamDiskUse{Account: m.Account, Region: m.Region, Name: m.Name, Status: m.effectiveStatus(now), Shards: len(m.Shards)}
		if d.Status == "" {
			d.Status = StatusDeleting
		}
		for _, sh := range m.Shards {
			local, tiered, err := usage(sh.Key)
			if err != nil {
				return nil, err
			}
			d.LocalBytes += local
			d.TieredBytes += tiered
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Name < b.Name
	})
	return out, nil
}
