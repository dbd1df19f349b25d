package server_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

func TestStreamSettingsOperations(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "set", 1)
	arn := aws.String(streamARN("set"))

	en, err := ts.kc.EnableEnhancedMonitoring(ctx, &kinesis.EnableEnhancedMonitoringInput{StreamName: aws.String("set"), ShardLevelMetrics: []types.MetricsName{types.MetricsNameIncomingBytes}})
	if err != nil || len(en.CurrentShardLevelMetrics) != 0 || len(en.DesiredShardLevelMetrics) != 1 {
		t.Fatalf("EnableEnhancedMonitoring = %+v, %v", en, err)
	}
	en, err = ts.kc.EnableEnhancedMonitoring(ctx, &kinesis.EnableEnhancedMonitoringInput{StreamName: aws.String("set"), ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll}})
	if err != nil || len(en.DesiredShardLevelMetrics) != 7 {
		t.Fatalf("ALL = %+v, %v", en.DesiredShardLevelMetrics, err)
	}
	dis, err := ts.kc.DisableEnhancedMonitoring(ctx, &kinesis.DisableEnhancedMonitoringInput{StreamName: aws.String("set"), ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll}})
	if err != nil || len(dis.CurrentShardLevelMetrics) != 7 || len(dis.DesiredShardLevelMetrics) != 0 {
		t.Fatalf("DisableEnhancedMonitoring = %+v, %v", dis, err)
	}
	d, err := ts.kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("set")})
	if err != nil || len(d.StreamDescription.EnhancedMonitoring) != 1 || len(d.StreamDescription.EnhancedMonitoring[0].ShardLevelMetrics) != 0 {
		t.Fatalf("DescribeStream EnhancedMonitoring = %+v, %v", d.StreamDescription.EnhancedMonitoring, err)
	}

	// Resource policies are stored and returned.
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kinesis:GetRecords","Resource":"*"}]}`
	if _, err := ts.kc.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: arn, Policy: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	gp, err := ts.kc.GetResourcePolicy(ctx, &kinesis.GetResourcePolicyInput{ResourceARN: arn})
	if err != nil || aws.ToString(gp.Policy) != pol {
		t.Fatalf("GetResourcePolicy = %v, %v", aws.ToString(gp.Policy), err)
	}
	if _, err := ts.kc.DeleteResourcePolicy(ctx, &kinesis.DeleteResourcePolicyInput{ResourceARN: arn}); err != nil {
		t.Fatal(err)
	}
	gp, err = ts.kc.GetResourcePolicy(ctx, &kinesis.GetResourcePolicyInput{ResourceARN: arn})
	if err != nil || aws.ToString(gp.Policy) != "{}" {
		t.Fatalf("GetResourcePolicy after delete = %v, %v", aws.ToString(gp.Policy), err)
	}
	_, err = ts.kc.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: aws.String(streamARN("missing")), Policy: aws.String(pol)})
	wantErr(t, err, "ResourceNotFoundException", notFoundMsg("missing"))

	// Stream mode switches, warm throughput and the distribution strategy.
	if _, err := ts.kc.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arn, StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	if s := ts.waitActive(t, "set"); s.StreamModeDetails.StreamMode != types.StreamModeOnDemand {
		t.Fatalf("mode = %s", s.StreamModeDetails.StreamMode)
	}
	wt, err := ts.kc.UpdateStreamWarmThroughput(ctx, &kinesis.UpdateStreamWarmThroughputInput{StreamARN: arn, WarmThroughputMiBps: aws.Int32(100)})
	if err != nil || aws.ToInt32(wt.WarmThroughput.TargetMiBps) != 100 {
		t.Fatalf("UpdateStreamWarmThroughput = %+v, %v", wt, err)
	}
	if _, err := ts.kc.UpdateStreamRecordDistributionStrategy(ctx, &kinesis.UpdateStreamRecordDistributionStrategyInput{StreamARN: arn, RecordDistributionStrategy: types.RecordDistributionStrategyAuto}); err != nil {
		t.Fatal(err)
	}
	_, err = ts.kc.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: arn, StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
	wantErrMatch(t, err, "InvalidArgumentException", "already in ON_DEMAND mode")

	// Account settings.
	as, err := ts.kc.DescribeAccountSettings(ctx, &kinesis.DescribeAccountSettingsInput{})
	if err != nil || as.MinimumThroughputBillingCommitment.Status != types.MinimumThroughputBillingCommitmentOutputStatusDisabled {
		t.Fatalf("DescribeAccountSettings = %+v, %v", as, err)
	}
	us, err := ts.kc.UpdateAccountSettings(ctx, &kinesis.UpdateAccountSettingsInput{MinimumThroughputBillingCommitment: &types.MinimumThroughputBillingCommitmentInput{Status: types.MinimumThroughputBillingCommitmentInputStatusEnabled}})
	if err != nil || us.MinimumThroughputBillingCommitment.Status != types.MinimumThroughputBillingCommitmentOutputStatusEnabled || us.MinimumThroughputBillingCommitment.EarliestAllowedEndAt == nil {
		t.Fatalf("UpdateAccountSettings = %+v, %v", us, err)
	}

	// Channels are refused, not pretended.
	_, err = ts.kc.ListChannels(ctx, &kinesis.ListChannelsInput{})
	wantErrMatch(t, err, "InvalidArgumentException", "not supported")
}
