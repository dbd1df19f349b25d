package firehose

import "context"

// destination is a kind of destination beyond the built-in ExtendedS3 and
// HttpEndpoint paths: each one (Splunk, OpenSearch, …) lives in its own file
// and registers itself in init. Every such destination carries an
// S3Configuration (its backup/error bucket, described as
// S3DestinationDescription, updated as S3Update), like AWS's.
type destination struct {
	// normalize checks a configuration and fills in AWS's defaults (the
	// S3Configuration is checked by the caller).
	normalize func(conf map[string]any) (map[string]any, error)
	// deliver delivers one batch's processed records, retrying and backing
	// up what fails as AWS does; an error only when ctx ends first.
	deliver func(ctx context.Context, s *Service, m *streamMeta, b *batch, data [][]byte) error
	// deliverKeyed, set instead of deliver, takes the processed records
	// with the metadata their processors gave (Iceberg's routing).
	deliverKeyed func(ctx context.Context, s *Service, m *streamMeta, b *batch, recs []keyedRecord) error
	// redact removes secrets from a description (a token, a password).
	redact func(desc map[string]any)
	// noSwitch: UpdateDestination cannot change a stream to or from this
	// kind (AWS refuses it for OpenSearch and HTTP endpoints).
	noSwitch bool
}

// backupFailed writes records a non-S3 destination gave up on to its
// S3Configuration under the error output type (http-endpoint-failed,
// splunk-failed, AmazonOpenSearchService-failed, …), one JSON line each as
// lines renders them, retrying the S3 write while the records are within
// the retention. It returns an error only when ctx ends first.
func (s *Service) backupFailed(ctx context.Context, m *streamMeta, b *batch, errorType string, lines [][]byte) error {
	s3 := mapOf(m.Dest, "S3Configuration")
	s.cfg.Observer.Failed(m.Name, errorType, len(lines))
	prefix := errorObjectPrefix(str(s3, "Prefix"), s3["ErrorOutputPrefix"], s.inZone(s3, b.oldest()), errorType)
	return s.retryS3(ctx, m, b.oldest(), func() error { return s.putS3ObjectAt(ctx, m, s3, prefix, b.oldest(), lines) })
}

// destinations are the registered destination kinds, by the member name
// prefix of the model's <Kind>DestinationConfiguration.
var destinations = map[string]destination{}

// servedKind reports whether a destination kind is served.
func servedKind(kind string) bool {
	_, ok := destinations[kind]
	return ok || kind == DestExtendedS3 || kind == DestHTTPEndpoint
}
