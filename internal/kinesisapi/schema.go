package kinesisapi

import (
	. "github.com/rheos/rheos/internal/awsproto" //nolint:revive // schema literals read best unqualified
)

// Member shapes shared by operations, with AWS's constraints.
var (
	streamNameReq = &Shape{Type: String, Required: true, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	streamName    = &Shape{Type: String, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	streamARN     = &Shape{Type: String, Pattern: "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", MinLen: Len(1), MaxLen: Len(2048)}
	shardIDReq    = &Shape{Type: String, Required: true, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	shardIDOpt    = &Shape{Type: String, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	partitionKey  = &Shape{Type: String, Required: true, MinLen: Len(1), MaxLen: Len(256)}
	explicitHash  = &Shape{Type: String, Pattern: "0|([1-9]\\d{0,38})"}
	seqNumOpt     = &Shape{Type: String, Pattern: "0|([1-9]\\d{0,128})"}
	// Data is capped at the largest MaxRecordSizeInKiB (10 MiB); the stream's
	// own limit is applied by the domain.
	data           = &Shape{Type: Blob, Required: true, MaxLen: Len(10 << 20)}
	retentionHours = &Shape{Type: Integer, Required: true, Min: I64(1), Max: I64(8760)}
	// tagMap is the model's TagMap: 1..200 entries per call (the 50-tag
	// limit of a stream is the domain's, an InvalidArgumentException).
	tagMap      = &Shape{Type: Map, Member: &Shape{Type: String}, MinLen: Len(1), MaxLen: Len(200), KeyLen: &[2]int{1, 128}, ValueLen: &[2]int{0, 256}}
	tagMapReq   = &Shape{Type: Map, Required: true, Member: &Shape{Type: String}, MinLen: Len(1), MaxLen: Len(200), KeyLen: &[2]int{1, 128}, ValueLen: &[2]int{0, 256}}
	resourceARN = &Shape{Type: String, Required: true, Pattern: "arn:aws.*:kinesis:.*:\\d{12}:.+", MinLen: Len(1), MaxLen: Len(2048)}
	nextToken   = &Shape{Type: String, MinLen: Len(1), MaxLen: Len(1048576)}
)

var (
	consumerNameReq  = &Shape{Type: String, Required: true, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	consumerName     = &Shape{Type: String, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	consumerARNShape = &Shape{Type: String, Pattern: "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+", MinLen: Len(1), MaxLen: Len(2048)}
)

var (
	streamARNReq     = &Shape{Type: String, Required: true, Pattern: "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", MinLen: Len(1), MaxLen: Len(2048)}
	monitoringSchema = []Field{
		F("StreamName", streamName),
		F("ShardLevelMetrics", &Shape{Type: List, Required: true, MinLen: Len(1), MaxLen: Len(7), Member: &Shape{Type: String}}),
		F("StreamARN", streamARN),
	}
)

var encryptionSchema = []Field{
	F("StreamName", streamName),
	F("EncryptionType", &Shape{Type: String, Required: true, Enum: []string{"NONE", "KMS"}}),
	F("KeyId", &Shape{Type: String, Required: true, MinLen: Len(1), MaxLen: Len(2048)}),
	F("StreamARN", streamARN),
}

var streamModeDetails = &Shape{Type: Structure, Fields: []Field{
	F("StreamMode", &Shape{Type: String, Required: true, Enum: []string{"PROVISIONED", "ON_DEMAND"}}),
}}

var schemas = map[string][]Field{
	"CreateStream": {
		F("ShardCount", &Shape{Type: Integer, Min: I64(1), Max: I64(100000)}),
		F("StreamName", streamNameReq),
		F("StreamModeDetails", streamModeDetails),
		F("Tags", tagMap),
		F("MaxRecordSizeInKiB", &Shape{Type: Integer, Min: I64(1024), Max: I64(10240)}),
		F("WarmThroughputMiBps", &Shape{Type: Integer, Min: I64(0)}),
	},
	"DeleteStream": {
		F("StreamName", streamName),
		F("EnforceConsumerDeletion", &Shape{Type: Boolean}),
		F("StreamARN", streamARN),
	},
	"DescribeStream": {
		F("Limit", &Shape{Type: Integer, Min: I64(1), Max: I64(10000)}),
		F("ExclusiveStartShardId", shardIDOpt),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
	},
	"DescribeStreamSummary": {
		F("StreamName", streamName),
		F("StreamARN", streamARN),
	},
	"ListStreams": {
		F("Limit", &Shape{Type: Integer, Min: I64(1), Max: I64(10000)}),
		F("ExclusiveStartStreamName", streamName),
		F("NextToken", nextToken),
	},
	"ListShards": {
		F("ExclusiveStartShardId", shardIDOpt),
		F("MaxResults", &Shape{Type: Integer, Min: I64(1), Max: I64(10000)}),
		F("NextToken", nextToken),
		F("StreamCreationTimestamp", &Shape{Type: Timestamp}),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
		F("ShardFilter", &Shape{Type: Structure, Fields: []Field{
			F("Type", &Shape{Type: String, Required: true, Enum: []string{"AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP", "FROM_TIMESTAMP"}}),
			F("ShardId", shardIDOpt),
			F("Timestamp", &Shape{Type: Timestamp}),
		}}),
	},
	"PutRecord": {
		F("DryRun", &Shape{Type: Boolean}),
		F("SequenceNumberForOrdering", seqNumOpt),
		F("PartitionKey", partitionKey),
		F("ExplicitHashKey", explicitHash),
		F("Data", data),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
	},
	"PutRecords": {
		F("DryRun", &Shape{Type: Boolean}),
		F("Records", &Shape{Type: List, Required: true, MinLen: Len(1), MaxLen: Len(500),
			MemberStr: "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310",
			Member: &Shape{Type: Structure, Fields: []Field{
				F("PartitionKey", partitionKey),
				F("ExplicitHashKey", explicitHash),
				F("Data", data),
			}}}),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
	},
	"GetShardIterator": {
		F("DryRun", &Shape{Type: Boolean}),
		F("ShardId", shardIDReq),
		F("ShardIteratorType", &Shape{Type: String, Required: true, Enum: []string{"AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER", "TRIM_HORIZON"}}),
		F("StartingSequenceNumber", seqNumOpt),
		F("StreamName", streamName),
		F("Timestamp", &Shape{Type: Timestamp}),
		F("StreamARN", streamARN),
	},
	"GetRecords": {
		F("DryRun", &Shape{Type: Boolean}),
		F("Limit", &Shape{Type: Integer, Min: I64(1), Max: I64(10000)}),
		F("ShardIterator", &Shape{Type: String, Required: true, MinLen: Len(1), MaxLen: Len(512)}),
		F("StreamARN", streamARN),
	},
	"IncreaseStreamRetentionPeriod": {
		F("RetentionPeriodHours", retentionHours),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
	},
	"DecreaseStreamRetentionPeriod": {
		F("RetentionPeriodHours", retentionHours),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
	},
	"AddTagsToStream": {
		F("Tags", tagMapReq),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
	},
	"RemoveTagsFromStream": {
		F("TagKeys", &Shape{Type: List, Required: true, Member: &Shape{Type: String}, MinLen: Len(1), MaxLen: Len(50), KeyLen: &[2]int{1, 128}}),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
	},
	"ListTagsForStream": {
		F("Limit", &Shape{Type: Integer, Min: I64(1), Max: I64(50)}),
		F("ExclusiveStartTagKey", &Shape{Type: String, MinLen: Len(1), MaxLen: Len(128)}),
		F("StreamName", streamName),
		F("StreamARN", streamARN),
	},
	"TagResource": {
		F("Tags", tagMapReq),
		F("ResourceARN", resourceARN),
	},
	"UntagResource": {
		F("TagKeys", &Shape{Type: List, Required: true, Member: &Shape{Type: String}, MinLen: Len(1), MaxLen: Len(50), KeyLen: &[2]int{1, 128}}),
		F("ResourceARN", resourceARN),
	},
	"ListTagsForResource": {
		F("ResourceARN", resourceARN),
	},
	"DescribeLimits": {},
	"UpdateMaxRecordSize": {
		F("StreamARN", streamARN),
		F("MaxRecordSizeInKiB", &Shape{Type: Integer, Required: true, Min: I64(1024), Max: I64(10240)}),
	},
	"SplitShard": {
		F("StreamName", streamName),
		F("ShardToSplit", shardIDReq),
		F("NewStartingHashKey", &Shape{Type: String, Required: true, Pattern: "0|([1-9]\\d{0,38})"}),
		F("StreamARN", streamARN),
	},
	"MergeShards": {
		F("StreamName", streamName),
		F("ShardToMerge", shardIDReq),
		F("AdjacentShardToMerge", shardIDReq),
		F("StreamARN", streamARN),
	},
	"UpdateShardCount": {
		F("StreamName", streamName),
		F("TargetShardCount", &Shape{Type: Integer, Required: true, Min: I64(1), Max: I64(100000)}),
		F("ScalingType", &Shape{Type: String, Required: true, Enum: []string{"UNIFORM_SCALING"}}),
		F("StreamARN", streamARN),
	},
	"RegisterStreamConsumer": {
		F("StreamARN", &Shape{Type: String, Required: true, Pattern: "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", MinLen: Len(1), MaxLen: Len(2048)}),
		F("ConsumerName", consumerNameReq),
	},
	"DeregisterStreamConsumer": {
		F("StreamARN", streamARN),
		F("ConsumerName", consumerName),
		F("ConsumerARN", consumerARNShape),
	},
	"DescribeStreamConsumer": {
		F("StreamARN", streamARN),
		F("ConsumerName", consumerName),
		F("ConsumerARN", consumerARNShape),
	},
	"ListStreamConsumers": {
		F("StreamARN", &Shape{Type: String, Required: true, Pattern: "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", MinLen: Len(1), MaxLen: Len(2048)}),
		F("NextToken", nextToken),
		F("MaxResults", &Shape{Type: Integer, Min: I64(1), Max: I64(10000)}),
		F("StreamCreationTimestamp", &Shape{Type: Timestamp}),
	},
	"SubscribeToShard": {
		F("DryRun", &Shape{Type: Boolean}),
		F("ConsumerARN", &Shape{Type: String, Required: true, Pattern: "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+", MinLen: Len(1), MaxLen: Len(2048)}),
		F("ShardId", shardIDReq),
		F("StartingPosition", &Shape{Type: Structure, Required: true, Fields: []Field{
			F("Type", &Shape{Type: String, Required: true, Enum: []string{"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"}}),
			F("SequenceNumber", seqNumOpt),
			F("Timestamp", &Shape{Type: Timestamp}),
		}}),
	},
	"EnableEnhancedMonitoring":  monitoringSchema,
	"DisableEnhancedMonitoring": monitoringSchema,
	"UpdateStreamMode": {
		F("StreamARN", streamARNReq),
		F("StreamModeDetails", &Shape{Type: Structure, Required: true, Fields: []Field{
			F("StreamMode", &Shape{Type: String, Required: true, Enum: []string{"PROVISIONED", "ON_DEMAND"}}),
		}}),
		F("WarmThroughputMiBps", &Shape{Type: Integer, Min: I64(0)}),
	},
	"UpdateStreamWarmThroughput": {
		F("StreamARN", streamARN),
		F("StreamName", streamName),
		F("WarmThroughputMiBps", &Shape{Type: Integer, Required: true, Min: I64(0)}),
	},
	"UpdateStreamRecordDistributionStrategy": {
		F("StreamARN", streamARNReq),
		F("RecordDistributionStrategy", &Shape{Type: String, Required: true, Enum: []string{"USER_PARTITION_KEY", "AUTO"}}),
	},
	"PutResourcePolicy": {
		F("ResourceARN", resourceARN),
		F("Policy", &Shape{Type: String, Required: true, MinLen: Len(1), MaxLen: Len(20480)}),
	},
	"GetResourcePolicy":       {F("ResourceARN", resourceARN)},
	"DeleteResourcePolicy":    {F("ResourceARN", resourceARN)},
	"DescribeAccountSettings": {},
	"UpdateAccountSettings": {
		F("MinimumThroughputBillingCommitment", &Shape{Type: Structure, Required: true, Fields: []Field{
			F("Status", &Shape{Type: String, Required: true, Enum: []string{"ENABLED", "DISABLED"}}),
		}}),
	},
	"CreateChannel":         {},
	"DescribeChannel":       {},
	"ListChannels":          {},
	"UpdateChannel":         {},
	"DeleteChannel":         {},
	"StartStreamEncryption": encryptionSchema,
	"StopStreamEncryption":  encryptionSchema,
}
