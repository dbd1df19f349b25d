package datastream

import (
	"context"
	"encoding/json"
	"sort"
	"time"
)

// Stream settings without data-path effects on a single node: enhanced
// monitoring (recorded; shard-level metrics come with observability), stream
// mode switches, warm throughput, the record distribution strategy, resource
// policies (stored; enforced by the security milestone) and account settings.

// AllShardLevelMetrics is what "ALL" expands to.
var AllShardLevelMetrics = []string{"IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
	"WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds"}

// MonitoringResult is Enable/DisableEnhancedMonitoring's output.
type MonitoringResult struct {
	StreamName, StreamARN string
	Current, Desired      []string
}

// SetShardLevelMetrics enables (enable=true) or disables metrics.
func (s *Service) SetShardLevelMetrics(ctx context.Context, sc Scope, name string, metrics []string, enable bool) (MonitoringResult, error) {
	sc = s.scope(sc)
	var res MonitoringResult
	err := s.mutate(ctx, sc, name, func(m *streamMeta, status string) error {
		if status != StatusActive {
			return notActive(name, sc.Account, status)
		}
		want := map[string]bool{}
		for _, x := range metrics {
			if x == "ALL" {
				for _, a := range AllShardLevelMetrics {
					want[a] = true
				}
			} else {
				want[x] = true
			}
		}
		cur := map[string]bool{}
		for _, x := range m.ShardMetrics {
			cur[x] = true
		}
		res.Current = append([]string{}, m.ShardMetrics...)
		for x := range want {
			if enable {
				cur[x] = true
			} else {
				delete(cur, x)
			}
		}
		m.ShardMetrics = m.ShardMetrics[:0]
		for x := range cur {
			m.ShardMetrics = append(m.ShardMetrics, x)
		}
		sort.Strings(m.ShardMetrics)
		res.Desired = append([]string{}, m.ShardMetrics...)
		res.StreamName, res.StreamARN = name, streamARN(sc.Region, sc.Account, name)
		return nil
	})
	return res, err
}

// UpdateStreamMode switches between PROVISIONED and ON_DEMAND (UPDATING for
// the update delay). The shard count is kept.
func (s *Service) UpdateStreamMode(ctx context.Context, sc Scope, name, mode string, warmMiBps *int) error {
	sc = s.scope(sc)
	return s.mutate(ctx, sc, name, func(m *streamMeta, status string) error {
		if status != StatusActive {
			return notActive(name, sc.Account, status)
		}
		if m.Mode == mode {
			return errorf(KindInvalidArgument, "Stream %s under account %s is already in %s mode.", name, sc.Account, mode)
		}
		if warmMiBps != nil && mode != ModeOnDemand {
			return errorf(KindInvalidArgument, "WarmThroughputMiBps applies to ON_DEMAND streams only.")
		}
		m.Mode = mode
		if warmMiBps != nil {
			m.WarmMiBps = *warmMiBps
		}
		m.Status, m.TransitionAt = StatusUpdating, s.now().Add(s.cfg.UpdateDelay).UnixMilli()
		return nil
	})
}

// UpdateWarmThroughput records an on-demand stream's warm throughput.
func (s *Service) UpdateWarmThroughput(ctx context.Context, sc Scope, name string, mibps int) (StreamInfo, int, error) {
	sc = s.scope(sc)
	prev := 0
	err := s.mutate(ctx, sc, name, func(m *streamMeta, status string) error {
		if m.Mode != ModeOnDemand {
			return errorf(KindInvalidArgument, "UpdateStreamWarmThroughput applies to ON_DEMAND streams only; stream %s under account %s is %s.", name, sc.Account, m.Mode)
		}
		if status != StatusActive {
			return notActive(name, sc.Account, status)
		}
		prev, m.WarmMiBps = m.WarmMiBps, mibps
		return nil
	})
	if err != nil {
		return StreamInfo{}, 0, err
	}
	in, err := s.Describe(sc, name)
	return in, prev, err
}

// UpdateRecordDistribution records the strategy of an on-demand stream.
func (s *Service) UpdateRecordDistribution(ctx context.Context, sc Scope, name, strategy string) error {
	sc = s.scope(sc)
	return s.mutate(ctx, sc, name, func(m *streamMeta, status string) error {
		if m.Mode != ModeOnDemand {
			return errorf(KindInvalidArgument, "RecordDistributionStrategy applies to ON_DEMAND streams only; stream %s under account %s is %s.", name, sc.Account, m.Mode)
		}
		if status != StatusActive {
			return notActive(name, sc.Account, status)
		}
		m.Distribution = strategy
		return nil
	})
}

// PutResourcePolicy stores a policy document for a stream or consumer ARN.
func (s *Service) PutResourcePolicy(ctx context.Context, arn, policy string) error {
	if err := s.checkResource(arn); err != nil {
		return err
	}
	var doc map[string]any
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return errorf(KindInvalidArgument, "Invalid policy document: it must be a JSON object.")
	}
	_, rev, err := s.meta.Get(ctx, prefixPolicy+arn)
	if err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	if _, _, err := s.meta.Commit(ctx, map[string]uint64{prefixPolicy + arn: rev}, map[string][]byte{prefixPolicy + arn: []byte(policy)}, nil); err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata commit failed", Err: err}
	}
	return nil
}

// GetResourcePolicy returns the stored policy, or "{}" when there is none.
func (s *Service) GetResourcePolicy(ctx context.Context, arn string) (string, error) {
	if err := s.checkResource(arn); err != nil {
		return "", err
	}
	v, _, err := s.meta.Get(ctx, prefixPolicy+arn)
	if err != nil {
		return "", &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	if v == nil {
		return "{}", nil
	}
	return string(v), nil
}

// DeleteResourcePolicy removes the stored policy.
func (s *Service) DeleteResourcePolicy(ctx context.Context, arn string) error {
	if err := s.checkResource(arn); err != nil {
		return err
	}
	_, rev, err := s.meta.Get(ctx, prefixPolicy+arn)
	if err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	if rev == 0 {
		return errorf(KindNotFound, "No resource policy found for resource %s.", arn)
	}
	if _, _, err := s.meta.Commit(ctx, map[string]uint64{prefixPolicy + arn: rev}, nil, []string{prefixPolicy + arn}); err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata commit failed", Err: err}
	}
	return nil
}

// checkResource checks that a stream or consumer ARN names something that exists.
func (s *Service) checkResource(arn string) error {
	if _, _, _, ok := ResolveConsumerARN(arn); ok {
		_, _, _, err := s.ConsumerByARN(arn)
		return err
	}
	sc, name, ok := ResolveARN(arn)
	if !ok {
		return errorf(KindInvalidArgument, "Invalid ResourceARN %s.", arn)
	}
	if st, _ := s.lookup(s.scope(sc), name); st == nil {
		return notFound(name, sc.Account)
	}
	return nil
}

// AccountSettings is the account's minimum throughput billing commitment.
type AccountSettings struct {
	Status               string // ENABLED, DISABLED
	StartedAt, EndedAt   time.Time
	EarliestAllowedEndAt time.Time
}

type accountMeta struct {
	Status       string `json:"status"`
	StartedMs    int64  `json:"startedMs,omitempty"`
	EndedMs      int64  `json:"endedMs,omitempty"`
	EarliestEndM int64  `json:"earliestEndMs,omitempty"`
}

func (a accountMeta) settings() AccountSettings {
	out := AccountSettings{Status: a.Status}
	if a.Status == "" {
		out.Status = "DISABLED"
	}
	if a.StartedMs != 0 {
		out.StartedAt = time.UnixMilli(a.StartedMs)
	}
	if a.EndedMs != 0 {
		out.EndedAt = time.UnixMilli(a.EndedMs)
	}
	if a.EarliestEndM != 0 {
		out.EarliestAllowedEndAt = time.UnixMilli(a.EarliestEndM)
	}
	return out
}

// DescribeAccountSettings returns the account settings.
func (s *Service) DescribeAccountSettings(ctx context.Context, sc Scope) (AccountSettings, error) {
	sc = s.scope(sc)
	v, _, err := s.meta.Get(ctx, prefixAccount+sc.Account+"/"+sc.Region)
	if err != nil {
		return AccountSettings{}, &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	var a accountMeta
	if v != nil {
		json.Unmarshal(v, &a)
	}
	return a.settings(), nil
}

// UpdateAccountSettings turns the minimum throughput billing commitment on
// or off. It has no billing effect here; a commitment lasts at least 24 h
// before it can be ended, as on AWS.
func (s *Service) UpdateAccountSettings(ctx context.Context, sc Scope, status string) (AccountSettings, error) {
	sc = s.scope(sc)
	key := prefixAccount + sc.Account + "/" + sc.Region
	v, rev, err := s.meta.Get(ctx, key)
	if err != nil {
		return AccountSettings{}, &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	var a accountMeta
	if v != nil {
		json.Unmarshal(v, &a)
	}
	now := s.now()
	switch status {
	case "ENABLED":
		if a.Status != "ENABLED" {
			a = accountMeta{Status: "ENABLED", StartedMs: now.UnixMilli(), EarliestEndM: now.Add(24 * time.Hour).UnixMilli()}
		}
	case "DISABLED":
		if a.Status == "ENABLED" {
			if now.UnixMilli() < a.EarliestEndM {
				return AccountSettings{}, errorf(KindInvalidArgument, "The minimum throughput billing commitment cannot be ended before %s.", time.UnixMilli(a.EarliestEndM).UTC().Format(time.RFC3339))
			}
			a.Status, a.EndedMs = "DISABLED", now.UnixMilli()
		}
	}
	b, _ := json.Marshal(a)
	if _, _, err := s.meta.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: b}, nil); err != nil {
		return AccountSettings{}, &Error{Kind: KindInternal, Msg: "metadata commit failed", Err: err}
	}
	return a.settings(), nil
}
