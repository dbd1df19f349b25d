package awsproto

import (
	"testing"

	"github.com/rheos/rheos/internal/awsmodel"
	"github.com/rheos/rheos/internal/awsmodel/analyticsmodel"
	"github.com/rheos/rheos/internal/awsmodel/analyticsv2model"
	"github.com/rheos/rheos/internal/awsmodel/firehosemodel"
	"github.com/rheos/rheos/internal/awsmodel/gluemodel"
	"github.com/rheos/rheos/internal/awsmodel/kinesismodel"
	"github.com/rheos/rheos/internal/awsmodel/kmsmodel"
	"github.com/rheos/rheos/internal/awsmodel/lambdamodel"
	"github.com/rheos/rheos/internal/awsmodel/s3model"
	"github.com/rheos/rheos/internal/awsmodel/videoarchivemodel"
	"github.com/rheos/rheos/internal/awsmodel/videomediamodel"
	"github.com/rheos/rheos/internal/awsmodel/videomodel"
	"github.com/rheos/rheos/internal/awsmodel/videosignalingmodel"
	"github.com/rheos/rheos/internal/awsmodel/videowebrtcmodel"
)

// TestModelPatternsCompile compiles every pattern of every checked-in AWS
// model (a pattern RE2 cannot run once panicked a Firehose TagDeliveryStream
// request: "^(?!aws:)…").
func TestModelPatternsCompile(t *testing.T) {
	for _, m := range []*awsmodel.Service{analyticsmodel.Model, analyticsv2model.Model, firehosemodel.Model, gluemodel.Model,
		kinesismodel.Model, kmsmodel.Model, lambdamodel.Model, s3model.Model, videoarchivemodel.Model, videomediamodel.Model,
		videomodel.Model, videosignalingmodel.Model, videowebrtcmodel.Model} {
		for name, sh := range m.Shapes {
			if sh.Pattern == "" {
				continue
			}
			if _, err := compilePattern(sh.Pattern); err != nil {
				t.Errorf("%s %s: pattern %q: %v", m.Name, name, sh.Pattern, err)
			}
		}
	}
}

func TestNegativeLookahead(t *testing.T) {
	p, err := compilePattern(`^(?!aws:)[\p{L}\p{Z}\p{N}_.:\/=+\-@%]*$`)
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{"team": true, "aws:x": false, "awsx": true, "": true, "a b": true, "x!": false} {
		if got := p.MatchString(s); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
}

func TestJavaPatternTranslations(t *testing.T) {
	for _, c := range []struct {
		pattern string
		cases   map[string]bool
	}{
		{`[0-9A-Za-z\.\-_]*(?<!\.)`, map[string]bool{"bucket": true, "bucket.": false, "a.b": true}},
		{`^(?=^\$)(?=^\S+$).*$`, map[string]bool{"$.a": true, "a": false, "$ a": false}},
		{`(^(?!(system\x2e)))(^[_a-zA-Z0-9])([^$]*)`, map[string]bool{"orders": true, "system.x": false}},
		{`arn:aws:kinesisanalytics:[a-z]{2}-[a-z]+-\d{1}+:\d{12}+:application/[a-zA-Z0-9_.-]{1,128}`,
			map[string]bool{"arn:aws:kinesisanalytics:us-east-1:111122223333:application/app": true, "arn:aws:kinesisanalytics:us-east-1:1:application/app": false}},
		{`[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*`, map[string]bool{"table name": true, "😀": true, "\x01": false}},
	} {
		p, err := compilePattern(c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		for s, want := range c.cases {
			if got := p.MatchString(s); got != want {
				t.Errorf("%s: %q: %v, want %v", c.pattern, s, got, want)
			}
		}
	}
}
