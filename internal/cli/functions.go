package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// functionsCmd runs `rheos functions list|mappings`: a view of the
// functions and event source mappings a server holds, through the Lambda API.
func functionsCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("functions: want list or mappings (rheos functions -h)")
	}
	if isHelp(args[0]) {
		usageOf(stdout, "rheos functions")
		return nil
	}
	fs := flag.NewFlagSet("functions "+args[0], flag.ContinueOnError)
	def := os.Getenv("RHEOS_ENDPOINT")
	if def == "" {
		def = "http://127.0.0.1:4566"
	}
	endpoint := fs.String("endpoint", def, "server endpoint")
	region := fs.String("region", "us-east-1", "region")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	c := lambda.New(lambda.Options{Region: *region, BaseEndpoint: aws.String(*endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("rheos", "rheos", "")})
	ctx := context.Background()
	switch args[0] {
	case "list":
		p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, f := range out.Functions {
				kind := string(f.Runtime)
				if f.PackageType == "Image" {
					kind = "url"
				}
				fmt.Fprintf(stdout, "%s\t%s\t%s\t%ds\t%s\n", aws.ToString(f.FunctionName), kind, aws.ToString(f.Handler),
					aws.ToInt32(f.Timeout), f.State)
			}
		}
	case "mappings":
		p := lambda.NewListEventSourceMappingsPaginator(c, &lambda.ListEventSourceMappingsInput{})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, m := range out.EventSourceMappings {
				fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\n", aws.ToString(m.UUID), aws.ToString(m.FunctionArn), aws.ToString(m.EventSourceArn),
					aws.ToString(m.State), aws.ToString(m.LastProcessingResult))
			}
		}
	default:
		return fmt.Errorf("functions: unknown subcommand %q (rheos functions -h)", args[0])
	}
	return nil
}
