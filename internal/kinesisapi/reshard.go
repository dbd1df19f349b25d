package kinesisapi

import (
	"context"

	"github.com/rheos/rheos/internal/awsproto"
)

func (a *API) splitShard(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	return nil, a.svc.SplitShard(ctx, sc, name, str(c, "ShardToSplit"), str(c, "NewStartingHashKey"))
}

func (a *API) mergeShards(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	return nil, a.svc.MergeShards(ctx, sc, name, str(c, "ShardToMerge"), str(c, "AdjacentShardToMerge"))
}

func (a *API) updateShardCount(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	target := intOr(c, "TargetShardCount", 0)
	current, err := a.svc.UpdateShardCount(ctx, sc, name, target)
	if err != nil {
		return nil, err
	}
	in, err := a.svc.Describe(sc, name)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"StreamName": name, "StreamARN": in.ARN,
		"CurrentShardCount": current, "TargetShardCount": target,
	}, nil
}
