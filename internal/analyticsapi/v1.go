package analyticsapi

import (
	"context"

	"github.com/rheos/rheos/internal/analytics"
	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
)

// The SQL API (KinesisAnalytics_20150814): all 20 operations.

func (a *api) v1Handlers() map[string]handler {
	return map[string]handler{
		"CreateApplication":   a.create,
		"DescribeApplication": a.describe,
		"ListApplications":    a.list,
		"UpdateApplication":   a.update,
		"DeleteApplication":   a.delete,
		"StartApplication":    a.start,
		"StopApplication":     a.stop,
		"AddApplicationInput": a.versioned(func(ctx context.Context, c *awsproto.Call, sc analytics.Scope, name string, v int64) (*analytics.Application, error) {
			var in analytics.Input
			if err := decode(c.Input["Input"], &in); err != nil {
				return nil, err
			}
			return a.svc.AddInput(ctx, sc, name, v, in)
		}, nil),
		"AddApplicationInputProcessingConfiguration":    a.versioned(a.addProcessing, nil),
		"DeleteApplicationInputProcessingConfiguration": a.versioned(a.deleteProcessing, nil),
		"AddApplicationOutput":                          a.versioned(a.addOutput, nil),
		"DeleteApplicationOutput":                       a.versioned(a.deleteOutput, nil),
		"AddApplicationReferenceDataSource":             a.versioned(a.addReference, nil),
		"DeleteApplicationReferenceDataSource":          a.versioned(a.deleteReference, nil),
		"AddApplicationCloudWatchLoggingOption":         a.versioned(a.addLogging, nil),
		"DeleteApplicationCloudWatchLoggingOption":      a.versioned(a.deleteLogging, nil),
		"DiscoverInputSchema":                           a.discover,
		"TagResource":                                   a.tagResource,
		"UntagResource":                                 a.untagResource,
		"ListTagsForResource":                           a.listTags,
	}
}

// versioned serves an operation that changes an application at
// CurrentApplicationVersionId (optional in v2, where a missing one skips
// the check); out shapes the answer (nil: the v1 empty answer).
func (a *api) versioned(fn func(ctx context.Context, c *awsproto.Call, sc analytics.Scope, name string, v int64) (*analytics.Application, error),
	out func(*analytics.Application) map[string]any) handler {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		app, err := fn(ctx, c, a.scope(c), str(c, "ApplicationName"), intIn(c, "CurrentApplicationVersionId", analytics.NoVersionCheck))
		if err != nil {
			return nil, err
		}
		if out == nil {
			return map[string]any{}, nil
		}
		return out(app), nil
	}
}

func (a *api) addProcessing(ctx context.Context, c *awsproto.Call, sc analytics.Scope, name string, v int64) (*analytics.Application, error) {
	p := &analytics.Processing{}
	if err := decode(c.Input["InputProcessingConfiguration"], p); err != nil {
		return nil, err
	}
	return a.svc.SetInputProcessing(ctx, sc, name, v, str(c, "InputId"), p)
}

func (a *api) deleteProcessing(ctx context.Context, c *awsproto.Call, sc analytics.Scope, name string, v int64) (*analytics.Application, error) {
	return a.svc.SetInputProcessing(ctx, sc, name, v, str(c, "InputId"), nil)
}

func (a *api) addOutput(ctx context.Context, c *awsproto.Call, sc analytics.Scope, name string, v int64) (*analytics.Application, error) {
	var o analytics.Output
	if err := decode(c.Input["Output"], &o); err != nil {
		return nil, err
	}
	return a.svc.AddOutput(ctx, sc, name, v, o)
}

func (a *api) deleteOutput(ctx context.Context, c *awsproto.Call, sc analytics.Scope, name string, v int64) (*analytics.Application, error) {
	return a.svc.DeleteOutput(ctx, sc, name, v, str(c, "OutputId"))
}

func (a *api) addReference(ctx context.Context, c *awsproto.Call, sc analytics.Scope, name string, v int64) (*analytics.Application, error) {
	var r analytics.ReferenceDataSource
	if err := decode(c.Input["ReferenceDataSource"], &r); err != nil {
		return nil, err
	}
	return a.svc.AddReference(ctx, sc, name, v, r)
}

func (a *api) deleteReference(ctx context.Context, c *awsproto.Call, sc analytics.Scope, name string, v int64) (*analytics.Application, error) {
	return a.svc.DeleteReference(ctx, sc, name, v, str(c, "ReferenceId"))
}

func (a *api) addLogging(ctx context.Context, c *awsproto.Call, sc analytics.Scope, name string, v int64) (*analytics.Application, error) {
	var l analytics.LoggingOption
	if err := decode(c.Input["CloudWatchLoggingOption"], &l); err != nil {
		return nil, err
	}
	return a.svc.AddLogging(ctx, sc, name, v, l)
}

func (a *api) deleteLogging(ctx context.Context, c *awsproto.Call, sc analytics.Scope, name string, v int64) (*analytics.Application, error) {
	return a.svc.DeleteLogging(ctx, sc, name, v, str(c, "CloudWatchLoggingOptionId"))
}

func summaryV1(app *analytics.Application) map[string]any {
	return map[string]any{"ApplicationName": app.Name, "ApplicationARN": app.ARN(), "ApplicationStatus": app.Status}
}

func (a *api) create(ctx context.Context, c *awsproto.Call) (any, error) {
	in := analytics.CreateInput{Name: str(c, "ApplicationName"), Description: str(c, "ApplicationDescription"), Code: str(c, "ApplicationCode")}
	for k, dst := range map[string]any{"Inputs": &in.Inputs, "Outputs": &in.Outputs, "CloudWatchLoggingOptions": &in.Logging, "Tags": &in.Tags} {
		if err := decode(c.Input[k], dst); err != nil {
			return nil, err
		}
	}
	app, err := a.svc.Create(ctx, a.scope(c), in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ApplicationSummary": summaryV1(app)}, nil
}

func detailV1(app *analytics.Application) map[string]any {
	d := map[string]any{"ApplicationName": app.Name, "ApplicationARN": app.ARN(), "ApplicationStatus": app.Status,
		"ApplicationVersionId": app.VersionID, "CreateTimestamp": seconds(app.CreatedMs), "LastUpdateTimestamp": seconds(app.UpdatedMs),
		"InputDescriptions": inputDescs(app), "OutputDescriptions": outputDescs(app),
		"ReferenceDataSourceDescriptions": referenceDescs(app), "CloudWatchLoggingOptionDescriptions": loggingDescs(app)}
	if app.Description != "" {
		d["ApplicationDescription"] = app.Description
	}
	if app.Code != "" {
		d["ApplicationCode"] = app.Code
	}
	return d
}

func (a *api) describe(ctx context.Context, c *awsproto.Call) (any, error) {
	app, err := a.svc.Get(ctx, a.scope(c), str(c, "ApplicationName"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"ApplicationDetail": detailV1(app)}, nil
}

func (a *api) list(ctx context.Context, c *awsproto.Call) (any, error) {
	apps, more, err := a.svc.List(ctx, a.scope(c), str(c, "ExclusiveStartApplicationName"), int(intIn(c, "Limit", analytics.MaxApplications)))
	if err != nil {
		return nil, err
	}
	sums := make([]any, 0, len(apps))
	for _, app := range apps {
		sums = append(sums, summaryV1(app))
	}
	return map[string]any{"ApplicationSummaries": sums, "HasMoreApplications": more}, nil
}

func (a *api) update(ctx context.Context, c *awsproto.Call) (any, error) {
	var u analytics.ApplicationUpdate
	if err := decode(c.Input["ApplicationUpdate"], &u); err != nil {
		return nil, err
	}
	_, err := a.svc.Update(ctx, a.scope(c), str(c, "ApplicationName"), intIn(c, "CurrentApplicationVersionId", 0), u)
	return map[string]any{}, err
}

func (a *api) delete(ctx context.Context, c *awsproto.Call) (any, error) {
	ts, _ := c.Input["CreateTimestamp"].(float64)
	return map[string]any{}, a.svc.Delete(ctx, a.scope(c), str(c, "ApplicationName"), analytics.MillisOf(ts))
}

// positionsIn reads start configurations: v1's InputConfigurations ({Id,
// …}) or v2's SqlRunConfigurations ({InputId, …}).
func positionsIn(list any, idKey string) (map[string]string, error) {
	l, _ := list.([]any)
	out := map[string]string{}
	for _, x := range l {
		m, _ := x.(map[string]any)
		id, _ := m[idKey].(string)
		p := ""
		if sp := mapIn(m, "InputStartingPositionConfiguration"); sp != nil {
			p, _ = sp["InputStartingPosition"].(string)
		}
		if _, dup := out[id]; dup {
			return nil, awserr.New(exInvalidArgument, "Input "+id+" is configured twice.")
		}
		out[id] = p
	}
	return out, nil
}

func (a *api) start(ctx context.Context, c *awsproto.Call) (any, error) {
	pos, err := positionsIn(c.Input["InputConfigurations"], "Id")
	if err != nil {
		return nil, err
	}
	_, err = a.svc.Start(ctx, a.scope(c), str(c, "ApplicationName"), pos)
	return map[string]any{}, err
}

func (a *api) stop(ctx context.Context, c *awsproto.Call) (any, error) {
	_, err := a.svc.Stop(ctx, a.scope(c), str(c, "ApplicationName"))
	return map[string]any{}, err
}
