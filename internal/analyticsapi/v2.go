package analyticsapi

import (
	"context"

	"github.com/rheos/rheos/internal/analytics"
	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
)

// The v2 API (KinesisAnalytics_20180523) for RuntimeEnvironment SQL-1_0,
// over the same applications as v1 (as on AWS, where SQL applications are
// visible through both). Flink and Zeppelin runtimes are refused with
// UnsupportedOperationException at CreateApplication; operations with no
// meaning for SQL applications (snapshots, versions, rollback, VPC,
// presigned URLs, maintenance windows, operations) answer
// UnsupportedOperationException, as AWS does for SQL applications.

func (a *api) v2Handlers() map[string]handler {
	return map[string]handler{
		"CreateApplication":   a.createV2,
		"DescribeApplication": a.describeV2,
		"ListApplications":    a.listV2,
		"UpdateApplication":   a.updateV2,
		"DeleteApplication":   a.delete,
		"StartApplication":    a.startV2,
		"StopApplication":     a.stopV2,
		"AddApplicationInput": a.versioned(func(ctx context.Context, c *awsproto.Call, sc analytics.Scope, name string, v int64) (*analytics.Application, error) {
			var in analytics.Input
			if err := decode(c.Input["Input"], &in); err != nil {
				return nil, err
			}
			return a.svc.AddInput(ctx, sc, name, v, in)
		}, func(app *analytics.Application) map[string]any {
			return versionOut(app, "InputDescriptions", inputDescs(app))
		}),
		"AddApplicationInputProcessingConfiguration": a.versioned(a.addProcessing, func(app *analytics.Application) map[string]any {
			out := versionOut(app, "", nil)
			for _, in := range inputDescs(app) {
				d := in.(map[string]any)
				if p, ok := d["InputProcessingConfigurationDescription"]; ok {
					out["InputId"], out["InputProcessingConfigurationDescription"] = d["InputId"], p
				}
			}
			return out
		}),
		"DeleteApplicationInputProcessingConfiguration": a.versioned(a.deleteProcessing, plainVersionOut),
		"AddApplicationOutput": a.versioned(a.addOutput, func(app *analytics.Application) map[string]any {
			return versionOut(app, "OutputDescriptions", outputDescs(app))
		}),
		"DeleteApplicationOutput": a.versioned(a.deleteOutput, plainVersionOut),
		"AddApplicationReferenceDataSource": a.versioned(a.addReference, func(app *analytics.Application) map[string]any {
			return versionOut(app, "ReferenceDataSourceDescriptions", referenceDescs(app))
		}),
		"DeleteApplicationReferenceDataSource": a.versioned(a.deleteReference, plainVersionOut),
		"AddApplicationCloudWatchLoggingOption": a.versioned(a.addLogging, func(app *analytics.Application) map[string]any {
			return versionOut(app, "CloudWatchLoggingOptionDescriptions", loggingDescs(app))
		}),
		"DeleteApplicationCloudWatchLoggingOption": a.versioned(a.deleteLogging, func(app *analytics.Application) map[string]any {
			return versionOut(app, "CloudWatchLoggingOptionDescriptions", loggingDescs(app))
		}),
		"DiscoverInputSchema": a.discover,
		"TagResource":         a.tagResource,
		"UntagResource":       a.untagResource,
		"ListTagsForResource": a.listTags,
	}
}

func versionOut(app *analytics.Application, k string, v any) map[string]any {
	out := map[string]any{"ApplicationARN": app.ARN(), "ApplicationVersionId": app.VersionID}
	if k != "" {
		out[k] = v
	}
	return out
}

func plainVersionOut(app *analytics.Application) map[string]any { return versionOut(app, "", nil) }

// v2Unsupported answers a v2 operation SQL applications do not have: the
// named application must exist (ResourceNotFoundException first, as AWS
// checks), then UnsupportedOperationException.
func (a *api) v2Unsupported(op string) handler {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		if name := str(c, "ApplicationName"); name != "" {
			if _, err := a.svc.Get(ctx, a.scope(c), name); err != nil {
				return nil, err
			}
		}
		return nil, awserr.New(exUnsupportedOperation, op+" is not supported for SQL applications (runtime "+analytics.RuntimeSQL+"), the only runtime this endpoint serves.")
	}
}

// sqlConfig reads ApplicationConfiguration: the code (plain text only) and
// the SQL configuration; any Flink or Zeppelin configuration is refused.
func sqlConfig(cfg map[string]any, in *analytics.CreateInput) error {
	for _, k := range []string{"FlinkApplicationConfiguration", "EnvironmentProperties", "ApplicationSnapshotConfiguration",
		"ApplicationSystemRollbackConfiguration", "VpcConfigurations", "ZeppelinApplicationConfiguration", "ApplicationEncryptionConfiguration"} {
		if _, ok := cfg[k]; ok {
			return awserr.New(exUnsupportedOperation, k+" is not supported for SQL applications (runtime "+analytics.RuntimeSQL+").")
		}
	}
	if code := mapIn(cfg, "ApplicationCodeConfiguration"); code != nil {
		if t, _ := code["CodeContentType"].(string); t != "PLAINTEXT" {
			return awserr.New(exInvalidArgument, "SQL application code must be PLAINTEXT, not "+t+".")
		}
		cc := mapIn(code, "CodeContent")
		if _, ok := cc["ZipFileContent"]; ok {
			return awserr.New(exInvalidArgument, "SQL application code must be given as TextContent.")
		}
		if _, ok := cc["S3ContentLocation"]; ok {
			return awserr.New(exInvalidArgument, "SQL application code must be given as TextContent.")
		}
		in.Code, _ = cc["TextContent"].(string)
	}
	sql := mapIn(cfg, "SqlApplicationConfiguration")
	for k, dst := range map[string]any{"Inputs": &in.Inputs, "Outputs": &in.Outputs, "ReferenceDataSources": &in.References} {
		if err := decode(sql[k], dst); err != nil {
			return err
		}
	}
	return nil
}

func (a *api) createV2(ctx context.Context, c *awsproto.Call) (any, error) {
	in := analytics.CreateInput{Name: str(c, "ApplicationName"), Description: str(c, "ApplicationDescription"),
		Runtime: str(c, "RuntimeEnvironment"), ServiceExecutionRole: str(c, "ServiceExecutionRole")}
	if in.Runtime != analytics.RuntimeSQL {
		return nil, awserr.New(exUnsupportedOperation, "Runtime environment "+in.Runtime+" is not supported by this endpoint: only "+
			analytics.RuntimeSQL+" (Kinesis Data Analytics for SQL) applications are served.")
	}
	if m, _ := c.Input["ApplicationMode"].(string); m == "INTERACTIVE" {
		return nil, awserr.New(exUnsupportedOperation, "ApplicationMode INTERACTIVE is for Zeppelin notebooks, which this endpoint does not serve.")
	}
	if err := sqlConfig(mapIn(c.Input, "ApplicationConfiguration"), &in); err != nil {
		return nil, err
	}
	for k, dst := range map[string]any{"CloudWatchLoggingOptions": &in.Logging, "Tags": &in.Tags} {
		if err := decode(c.Input[k], dst); err != nil {
			return nil, err
		}
	}
	app, err := a.svc.Create(ctx, a.scope(c), in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ApplicationDetail": detailV2(app)}, nil
}

func detailV2(app *analytics.Application) map[string]any {
	d := map[string]any{"ApplicationName": app.Name, "ApplicationARN": app.ARN(), "ApplicationStatus": app.Status,
		"ApplicationVersionId": app.VersionID, "RuntimeEnvironment": analytics.RuntimeSQL,
		"CreateTimestamp": seconds(app.CreatedMs), "LastUpdateTimestamp": seconds(app.UpdatedMs),
		"CloudWatchLoggingOptionDescriptions": loggingDescs(app),
		"ApplicationConfigurationDescription": map[string]any{
			"ApplicationCodeConfigurationDescription": map[string]any{"CodeContentType": "PLAINTEXT",
				"CodeContentDescription": map[string]any{"TextContent": app.Code}},
			"SqlApplicationConfigurationDescription": map[string]any{"InputDescriptions": inputDescs(app),
				"OutputDescriptions": outputDescs(app), "ReferenceDataSourceDescriptions": referenceDescs(app)},
		}}
	if app.Description != "" {
		d["ApplicationDescription"] = app.Description
	}
	if app.ServiceExecutionRole != "" {
		d["ServiceExecutionRole"] = app.ServiceExecutionRole
	}
	return d
}

func (a *api) describeV2(ctx context.Context, c *awsproto.Call) (any, error) {
	app, err := a.svc.Get(ctx, a.scope(c), str(c, "ApplicationName"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"ApplicationDetail": detailV2(app)}, nil
}

func (a *api) listV2(ctx context.Context, c *awsproto.Call) (any, error) {
	apps, more, err := a.svc.List(ctx, a.scope(c), str(c, "NextToken"), int(intIn(c, "Limit", analytics.MaxApplications)))
	if err != nil {
		return nil, err
	}
	sums := make([]any, 0, len(apps))
	for _, app := range apps {
		sums = append(sums, map[string]any{"ApplicationName": app.Name, "ApplicationARN": app.ARN(), "ApplicationStatus": app.Status,
			"ApplicationVersionId": app.VersionID, "RuntimeEnvironment": analytics.RuntimeSQL})
	}
	out := map[string]any{"ApplicationSummaries": sums}
	if more && len(apps) > 0 {
		out["NextToken"] = apps[len(apps)-1].Name
	}
	return out, nil
}

func (a *api) updateV2(ctx context.Context, c *awsproto.Call) (any, error) {
	var u analytics.ApplicationUpdate
	cfg := mapIn(c.Input, "ApplicationConfigurationUpdate")
	for _, k := range []string{"FlinkApplicationConfigurationUpdate", "EnvironmentPropertyUpdates", "ApplicationSnapshotConfigurationUpdate",
		"ApplicationSystemRollbackConfigurationUpdate", "VpcConfigurationUpdates", "ZeppelinApplicationConfigurationUpdate", "ApplicationEncryptionConfigurationUpdate"} {
		if _, ok := cfg[k]; ok {
			return nil, awserr.New(exUnsupportedOperation, k+" is not supported for SQL applications (runtime "+analytics.RuntimeSQL+").")
		}
	}
	if r, _ := c.Input["RuntimeEnvironmentUpdate"].(string); r != "" && r != analytics.RuntimeSQL {
		return nil, awserr.New(exUnsupportedOperation, "Runtime environment "+r+" is not supported by this endpoint.")
	}
	if code := mapIn(cfg, "ApplicationCodeConfigurationUpdate"); code != nil {
		cc := mapIn(code, "CodeContentUpdate")
		if t, ok := cc["TextContentUpdate"].(string); ok {
			u.ApplicationCodeUpdate = &t
		} else if cc != nil {
			return nil, awserr.New(exInvalidArgument, "SQL application code must be given as TextContentUpdate.")
		}
	}
	if sql := mapIn(cfg, "SqlApplicationConfigurationUpdate"); sql != nil {
		if err := decode(sql, &u); err != nil {
			return nil, err
		}
	}
	if err := decode(c.Input["CloudWatchLoggingOptionUpdates"], &u.CloudWatchLoggingOptionUpdates); err != nil {
		return nil, err
	}
	u.ServiceExecutionRoleUpdate = str(c, "ServiceExecutionRoleUpdate")
	app, err := a.svc.Update(ctx, a.scope(c), str(c, "ApplicationName"), intIn(c, "CurrentApplicationVersionId", analytics.NoVersionCheck), u)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ApplicationDetail": detailV2(app)}, nil
}

func (a *api) startV2(ctx context.Context, c *awsproto.Call) (any, error) {
	rc := mapIn(c.Input, "RunConfiguration")
	if _, ok := rc["FlinkRunConfiguration"]; ok {
		return nil, awserr.New(exUnsupportedOperation, "FlinkRunConfiguration is not supported for SQL applications.")
	}
	pos, err := positionsIn(rc["SqlRunConfigurations"], "InputId")
	if err != nil {
		return nil, err
	}
	if len(pos) == 0 {
		// Without run configurations, every input starts at NOW.
		app, err := a.svc.Get(ctx, a.scope(c), str(c, "ApplicationName"))
		if err != nil {
			return nil, err
		}
		for _, in := range app.Inputs {
			pos[in.InputID] = analytics.PositionNow
		}
	}
	_, err = a.svc.Start(ctx, a.scope(c), str(c, "ApplicationName"), pos)
	return map[string]any{}, err
}

func (a *api) stopV2(ctx context.Context, c *awsproto.Call) (any, error) {
	_, err := a.svc.Stop(ctx, a.scope(c), str(c, "ApplicationName"))
	return map[string]any{}, err
}
