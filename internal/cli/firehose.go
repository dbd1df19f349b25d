package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// firehoseCmd runs `rheos firehose list|describe|put`: a view of the
// delivery streams a server holds, through the Firehose API.
func firehoseCmd(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("firehose: want list, describe or put (rheos firehose -h)")
	}
	if isHelp(args[0]) {
		usageOf(stdout, "rheos firehose")
		return nil
	}
	fs := flag.NewFlagSet("firehose "+args[0], flag.ContinueOnError)
	def := os.Getenv("RHEOS_ENDPOINT")
	if def == "" {
		def = "http://127.0.0.1:4566"
	}
	endpoint := fs.String("endpoint", def, "server endpoint")
	region := fs.String("region", "us-east-1", "region")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	c := firehose.New(firehose.Options{Region: *region, BaseEndpoint: aws.String(*endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("rheos", "rheos", "")})
	ctx := context.Background()
	switch args[0] {
	case "list":
		var start *string
		for {
			out, err := c.ListDeliveryStreams(ctx, &firehose.ListDeliveryStreamsInput{Limit: aws.Int32(100), ExclusiveStartDeliveryStreamName: start})
			if err != nil {
				return err
			}
			for _, name := range out.DeliveryStreamNames {
				d, err := c.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(name)})
				if err != nil {
					return err
				}
				desc := d.DeliveryStreamDescription
				fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\tv%s\n", name, desc.DeliveryStreamStatus, desc.DeliveryStreamType,
					destinationOf(desc.Destinations), aws.ToString(desc.VersionId))
				start = aws.String(name)
			}
			if !aws.ToBool(out.HasMoreDeliveryStreams) || len(out.DeliveryStreamNames) == 0 {
				return nil
			}
		}
	case "describe":
		if len(pos) != 1 {
			return errors.New("firehose describe: want one delivery stream name")
		}
		d, err := c.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(pos[0])})
		if err != nil {
			return err
		}
		desc := d.DeliveryStreamDescription
		fmt.Fprintf(stdout, "name\t%s\narn\t%s\nstatus\t%s\ntype\t%s\nversion\t%s\ndestination\t%s\n", aws.ToString(desc.DeliveryStreamName),
			aws.ToString(desc.DeliveryStreamARN), desc.DeliveryStreamStatus, desc.DeliveryStreamType, aws.ToString(desc.VersionId), destinationOf(desc.Destinations))
		if e := desc.DeliveryStreamEncryptionConfiguration; e != nil {
			fmt.Fprintf(stdout, "encryption\t%s\n", e.Status)
		}
	case "put":
		if len(pos) < 1 {
			return errors.New("firehose put: want a delivery stream name, then records as arguments or lines on stdin")
		}
		records := pos[1:]
		if len(records) == 0 {
			b, err := io.ReadAll(stdin)
			if err != nil {
				return err
			}
			records = strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		}
		for start := 0; start < len(records); start += 500 {
			var batch []types.Record
			for _, r := range records[start:min(start+500, len(records))] {
				batch = append(batch, types.Record{Data: []byte(r + "\n")})
			}
			out, err := c.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(pos[0]), Records: batch})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "put %d records, %d failed\n", len(batch), aws.ToInt32(out.FailedPutCount))
		}
	default:
		return fmt.Errorf("firehose: unknown subcommand %q (rheos firehose -h)", args[0])
	}
	return nil
}

// destinationOf names a delivery stream's destination.
func destinationOf(ds []types.DestinationDescription) string {
	if len(ds) == 0 {
		return "-"
	}
	d := ds[0]
	switch {
	case d.ExtendedS3DestinationDescription != nil:
		e := d.ExtendedS3DestinationDescription
		return "s3 " + aws.ToString(e.BucketARN) + " prefix=" + aws.ToString(e.Prefix)
	case d.HttpEndpointDestinationDescription != nil:
		return "http " + aws.ToString(d.HttpEndpointDestinationDescription.EndpointConfiguration.Url)
	}
	return "other"
}
