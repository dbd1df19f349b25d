package videoapi

import (
	"context"

	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/video"
)

// streamInfo is a StreamInfo as AWS returns it.
func streamInfo(st *video.Stream) map[string]any {
	out := map[string]any{"StreamName": st.Name, "StreamARN": st.ARN(), "KmsKeyId": st.KMSKeyID, "Version": st.Version,
		"Status": st.Status, "CreationTime": epoch(st.Created), "DataRetentionInHours": st.RetentionHours}
	if st.DeviceName != "" {
		out["DeviceName"] = st.DeviceName
	}
	if st.MediaType != "" {
		out["MediaType"] = st.MediaType
	}
	return out
}

func (a *API) createStream(ctx context.Context, c *awsproto.Call) (any, error) {
	in := video.CreateStreamInput{Name: str(c, "StreamName"), DeviceName: str(c, "DeviceName"), MediaType: str(c, "MediaType"),
		KMSKeyID: str(c, "KmsKeyId"), Tags: strMap(c.Input["Tags"])}
	in.RetentionHours, _ = intOf(c.Input, "DataRetentionInHours")
	if ssc := obj(c.Input, "StreamStorageConfiguration"); ssc != nil {
		in.StorageTier, _ = ssc["DefaultStorageTier"].(string)
	}
	st, err := a.svc.CreateStream(ctx, a.scope(c), in)
	if err != nil {
		return nil, err
	}
	return map[string]string{"StreamARN": st.ARN()}, nil
}

func (a *API) describeStream(ctx context.Context, c *awsproto.Call) (any, error) {
	st, err := a.svc.Resolve(ctx, a.scope(c), streamRef(c))
	if err != nil {
		return nil, err
	}
	return map[string]any{"StreamInfo": streamInfo(st)}, nil
}

func (a *API) listStreams(ctx context.Context, c *awsproto.Call) (any, error) {
	after, err := fromToken(str(c, "NextToken"))
	if err != nil {
		return nil, err
	}
	max, _ := intOf(c.Input, "MaxResults")
	prefix := ""
	if cond := obj(c.Input, "StreamNameCondition"); cond != nil {
		prefix, _ = cond["ComparisonValue"].(string)
	}
	list, next, err := a.svc.ListStreams(ctx, a.scope(c), prefix, after, max)
	if err != nil {
		return nil, err
	}
	infos := make([]any, len(list))
	for i, st := range list {
		infos[i] = streamInfo(st)
	}
	out := map[string]any{"StreamInfoList": infos}
	if next != "" {
		out["NextToken"] = pageToken(next)
	}
	return out, nil
}

func (a *API) updateStream(ctx context.Context, c *awsproto.Call) (any, error) {
	_, err := a.svc.UpdateStream(ctx, a.scope(c), streamRef(c), str(c, "CurrentVersion"), strp(c.Input, "DeviceName"), strp(c.Input, "MediaType"))
	return nil, err
}

func (a *API) deleteStream(ctx context.Context, c *awsproto.Call) (any, error) {
	return nil, a.svc.DeleteStream(ctx, a.scope(c), str(c, "StreamARN"), str(c, "CurrentVersion"))
}

func (a *API) updateDataRetention(ctx context.Context, c *awsproto.Call) (any, error) {
	change, _ := intOf(c.Input, "DataRetentionChangeInHours")
	_, err := a.svc.UpdateDataRetention(ctx, a.scope(c), streamRef(c), str(c, "CurrentVersion"), str(c, "Operation"), change)
	return nil, err
}

func (a *API) getDataEndpoint(ctx context.Context, c *awsproto.Call) (any, error) {
	u, err := a.svc.DataEndpoint(ctx, a.scope(c), streamRef(c), str(c, "APIName"), a.baseURL(c))
	if err != nil {
		return nil, err
	}
	return map[string]string{"DataEndpoint": u}, nil
}

func (a *API) tagStream(ctx context.Context, c *awsproto.Call) (any, error) {
	return nil, a.svc.TagStream(ctx, a.scope(c), streamRef(c), strMap(c.Input["Tags"]))
}

func (a *API) untagStream(ctx context.Context, c *awsproto.Call) (any, error) {
	return nil, a.svc.UntagStream(ctx, a.scope(c), streamRef(c), strList(c.Input["TagKeyList"]))
}

func (a *API) listTagsForStream(ctx context.Context, c *awsproto.Call) (any, error) {
	st, err := a.svc.Resolve(ctx, a.scope(c), streamRef(c))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Tags": tagsOut(st.Tags)}, nil
}

func (a *API) tagResource(ctx context.Context, c *awsproto.Call) (any, error) {
	return nil, a.svc.Tag(ctx, a.scope(c), str(c, "ResourceARN"), tagList(c.Input["Tags"]))
}

func (a *API) untagResource(ctx context.Context, c *awsproto.Call) (any, error) {
	return nil, a.svc.Untag(ctx, a.scope(c), str(c, "ResourceARN"), strList(c.Input["TagKeyList"]))
}

func (a *API) listTagsForResource(ctx context.Context, c *awsproto.Call) (any, error) {
	tags, err := a.svc.Tags(ctx, a.scope(c), str(c, "ResourceARN"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Tags": tagsOut(tags)}, nil
}

func (a *API) describeImageGeneration(ctx context.Context, c *awsproto.Call) (any, error) {
	st, err := a.svc.Resolve(ctx, a.scope(c), streamRef(c))
	if err != nil {
		return nil, err
	}
	g := st.ImageGeneration
	if g == nil {
		return map[string]any{}, nil
	}
	cfg := map[string]any{"Status": g.Status, "ImageSelectorType": g.ImageSelectorType,
		"DestinationConfig": map[string]string{"Uri": g.DestinationURI, "DestinationRegion": g.DestinationRegion},
		"SamplingInterval":  g.SamplingInterval, "Format": g.Format}
	if len(g.FormatConfig) > 0 {
		cfg["FormatConfig"] = g.FormatConfig
	}
	if g.WidthPixels > 0 {
		cfg["WidthPixels"] = g.WidthPixels
	}
	if g.HeightPixels > 0 {
		cfg["HeightPixels"] = g.HeightPixels
	}
	return map[string]any{"ImageGenerationConfiguration": cfg}, nil
}

func (a *API) updateImageGeneration(ctx context.Context, c *awsproto.Call) (any, error) {
	var g *video.ImageGeneration
	if m := obj(c.Input, "ImageGenerationConfiguration"); m != nil {
		g = &video.ImageGeneration{FormatConfig: strMap(m["FormatConfig"])}
		g.Status, _ = m["Status"].(string)
		g.ImageSelectorType, _ = m["ImageSelectorType"].(string)
		g.Format, _ = m["Format"].(string)
		g.SamplingInterval, _ = intOf(m, "SamplingInterval")
		g.WidthPixels, _ = intOf(m, "WidthPixels")
		g.HeightPixels, _ = intOf(m, "HeightPixels")
		if d := obj(m, "DestinationConfig"); d != nil {
			g.DestinationURI, _ = d["Uri"].(string)
			g.DestinationRegion, _ = d["DestinationRegion"].(string)
		}
	}
	return nil, a.svc.UpdateImageGeneration(ctx, a.scope(c), streamRef(c), g)
}

func (a *API) describeNotification(ctx context.Context, c *awsproto.Call) (any, error) {
	st, err := a.svc.Resolve(ctx, a.scope(c), streamRef(c))
	if err != nil {
		return nil, err
	}
	n := st.Notification
	if n == nil {
		return map[string]any{}, nil
	}
	return map[string]any{"NotificationConfiguration": map[string]any{"Status": n.Status,
		"DestinationConfig": map[string]string{"Uri": n.DestinationURI}}}, nil
}

func (a *API) updateNotification(ctx context.Context, c *awsproto.Call) (any, error) {
	var n *video.Notification
	if m := obj(c.Input, "NotificationConfiguration"); m != nil {
		n = &video.Notification{}
		n.Status, _ = m["Status"].(string)
		if d := obj(m, "DestinationConfig"); d != nil {
			n.DestinationURI, _ = d["Uri"].(string)
		}
	}
	return nil, a.svc.UpdateNotification(ctx, a.scope(c), streamRef(c), n)
}

func (a *API) describeStreamStorage(ctx context.Context, c *awsproto.Call) (any, error) {
	st, err := a.svc.Resolve(ctx, a.scope(c), streamRef(c))
	if err != nil {
		return nil, err
	}
	return map[string]any{"StreamName": st.Name, "StreamARN": st.ARN(),
		"StreamStorageConfiguration": map[string]string{"DefaultStorageTier": st.StorageTier}}, nil
}

func (a *API) updateStreamStorage(ctx context.Context, c *awsproto.Call) (any, error) {
	tier, _ := obj(c.Input, "StreamStorageConfiguration")["DefaultStorageTier"].(string)
	_, err := a.svc.UpdateStorageTier(ctx, a.scope(c), streamRef(c), str(c, "CurrentVersion"), tier)
	return nil, err
}

// startEdgeConfigurationUpdate: no edge agent runs here (see
// video.Service.StartEdgeConfigurationUpdate).
func (a *API) startEdgeConfigurationUpdate(ctx context.Context, c *awsproto.Call) (any, error) {
	return nil, a.svc.StartEdgeConfigurationUpdate(ctx, a.scope(c), streamRef(c))
}

// edgeConfiguration is Describe/DeleteEdgeConfiguration: no stream has
// one, as for an AWS account that never started one
// (StreamEdgeConfigurationNotFoundException, 404).
func (a *API) edgeConfiguration(ctx context.Context, c *awsproto.Call) (any, error) {
	return nil, a.svc.EdgeConfiguration(ctx, a.scope(c), streamRef(c))
}

// listEdgeAgentConfigurations: no hub device has edge configurations.
func (a *API) listEdgeAgentConfigurations(context.Context, *awsproto.Call) (any, error) {
	return map[string]any{"EdgeConfigs": []any{}}, nil
}

// describeMappedResource: the stream's mapped resources (none: WebRTC
// ingestion's channel links are kept on the channels).
func (a *API) describeMappedResource(ctx context.Context, c *awsproto.Call) (any, error) {
	if _, err := a.svc.Resolve(ctx, a.scope(c), streamRef(c)); err != nil {
		return nil, err
	}
	return map[string]any{"MappedResourceConfigurationList": []any{}}, nil
}
