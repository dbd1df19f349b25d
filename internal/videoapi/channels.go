package videoapi

import (
	"context"

	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/video"
)

// channelInfo is a ChannelInfo as AWS returns it.
func channelInfo(ch *video.Channel) map[string]any {
	return map[string]any{"ChannelName": ch.Name, "ChannelARN": ch.ARN(), "ChannelType": ch.Type, "ChannelStatus": ch.Status,
		"CreationTime": epoch(ch.Created), "Version": ch.Version,
		"SingleMasterConfiguration": map[string]int{"MessageTtlSeconds": ch.MessageTTLSeconds}}
}

func channelRef(c *awsproto.Call) video.ChannelRef {
	return video.ChannelRef{Name: str(c, "ChannelName"), ARN: str(c, "ChannelARN")}
}

func (a *API) createChannel(ctx context.Context, c *awsproto.Call) (any, error) {
	in := video.CreateChannelInput{Name: str(c, "ChannelName"), Type: str(c, "ChannelType"), Tags: tagList(c.Input["Tags"])}
	in.MessageTTLSeconds, _ = intOf(obj(c.Input, "SingleMasterConfiguration"), "MessageTtlSeconds")
	ch, err := a.svc.CreateChannel(ctx, a.scope(c), in)
	if err != nil {
		return nil, err
	}
	return map[string]string{"ChannelARN": ch.ARN()}, nil
}

func (a *API) describeChannel(ctx context.Context, c *awsproto.Call) (any, error) {
	ch, err := a.svc.ResolveChannel(ctx, a.scope(c), channelRef(c))
	if err != nil {
		return nil, err
	}
	return map[string]any{"ChannelInfo": channelInfo(ch)}, nil
}

func (a *API) listChannels(ctx context.Context, c *awsproto.Call) (any, error) {
	after, err := fromToken(str(c, "NextToken"))
	if err != nil {
		return nil, err
	}
	max, _ := intOf(c.Input, "MaxResults")
	prefix := ""
	if cond := obj(c.Input, "ChannelNameCondition"); cond != nil {
		prefix, _ = cond["ComparisonValue"].(string)
	}
	list, next, err := a.svc.ListChannels(ctx, a.scope(c), prefix, after, max)
	if err != nil {
		return nil, err
	}
	infos := make([]any, len(list))
	for i, ch := range list {
		infos[i] = channelInfo(ch)
	}
	out := map[string]any{"ChannelInfoList": infos}
	if next != "" {
		out["NextToken"] = pageToken(next)
	}
	return out, nil
}

func (a *API) updateChannel(ctx context.Context, c *awsproto.Call) (any, error) {
	var ttl *int
	if n, ok := intOf(obj(c.Input, "SingleMasterConfiguration"), "MessageTtlSeconds"); ok {
		ttl = &n
	}
	_, err := a.svc.UpdateChannel(ctx, a.scope(c), str(c, "ChannelARN"), str(c, "CurrentVersion"), ttl)
	return nil, err
}

func (a *API) deleteChannel(ctx context.Context, c *awsproto.Call) (any, error) {
	return nil, a.svc.DeleteChannel(ctx, a.scope(c), str(c, "ChannelARN"), str(c, "CurrentVersion"))
}

func (a *API) getChannelEndpoint(ctx context.Context, c *awsproto.Call) (any, error) {
	cfg := obj(c.Input, "SingleMasterChannelEndpointConfiguration")
	var protocols []string
	if cfg["Protocols"] != nil {
		protocols = strList(cfg["Protocols"])
	}
	role, _ := cfg["Role"].(string)
	eps, err := a.svc.ChannelEndpoints(ctx, a.scope(c), str(c, "ChannelARN"), protocols, role, a.baseURL(c))
	if err != nil {
		return nil, err
	}
	list := make([]any, len(eps))
	for i, e := range eps {
		list[i] = map[string]string{"Protocol": e.Protocol, "ResourceEndpoint": e.URL}
	}
	return map[string]any{"ResourceEndpointList": list}, nil
}

func (a *API) describeMediaStorage(ctx context.Context, c *awsproto.Call) (any, error) {
	ch, err := a.svc.ResolveChannel(ctx, a.scope(c), channelRef(c))
	if err != nil {
		return nil, err
	}
	cfg := map[string]string{"Status": "DISABLED"}
	if m := ch.MediaStorage; m != nil {
		cfg["Status"] = m.Status
		if m.StreamARN != "" {
			cfg["StreamARN"] = m.StreamARN
		}
	}
	return map[string]any{"MediaStorageConfiguration": cfg}, nil
}

func (a *API) updateMediaStorage(ctx context.Context, c *awsproto.Call) (any, error) {
	m := obj(c.Input, "MediaStorageConfiguration")
	var cfg video.MediaStorage
	cfg.Status, _ = m["Status"].(string)
	cfg.StreamARN, _ = m["StreamARN"].(string)
	return nil, a.svc.UpdateMediaStorage(ctx, a.scope(c), str(c, "ChannelARN"), cfg)
}
