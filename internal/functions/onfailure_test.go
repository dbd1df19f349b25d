package functions

import (
	"regexp"
	"testing"
	"time"
)

func TestBucketOf(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:s3:::failures":                "failures",
		"arn:aws:s3:::failures/prefix":         "",
		"arn:aws:s3:us-east-1::failures":       "",
		"arn:aws:s3::000000000000:failures":    "",
		"arn:aws-cn:s3:::failures":             "",
		"arn:aws:sqs:us-east-1:000000000000:q": "",
		"arn:aws:kinesis:us-east-1:0:stream/s": "",
		"arn:aws:s3:::":                        "",
	} {
		if got, ok := bucketOf(arn); got != want || ok != (want != "") {
			t.Errorf("bucketOf(%q) = %q, %v; want %q", arn, got, ok, want)
		}
	}
}

func TestFailureObjectKey(t *testing.T) {
	at := time.Date(2025, 3, 7, 9, 4, 5, 0, time.FixedZone("x", 3600)) // 08:04:05 UTC
	key := failureObjectKey("6d2a", "shardId-000000000001", at)
	if !regexp.MustCompile(`^aws/lambda/6d2a/shardId-000000000001/2025/03/07/2025-03-07T08\.04\.05-[0-9a-f-]{36}$`).MatchString(key) {
		t.Fatalf("key %q", key)
	}
}
