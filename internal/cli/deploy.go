package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	awsdeploy "github.com/landfall/landfall/deploy/aws"
	"github.com/landfall/landfall/pipelines"
)

func init() {
	Register(Command{
		Name: "deploy aws",
		Usage: "--out DIR [--format json|yaml] [--no-build] | --stack NAME --region R --code-bucket B " +
			"[--definition FILE] [--rules FILE] [--tenants a,b] [--bucket NAME] [--bedrock-model ID] [--alarm-threshold N] " +
			"[--alert-email ADDR] [--alert-webhook URL] [--log-retention DAYS] [--kms-key ARN] [--arch arm64|x86_64] [--image-uri URI]",
		Summary: "write the CloudFormation template and Lambda packages for AWS from the same definitions, or deploy them as a stack",
		Run:     deployAWS,
	})
}

// csvFlag is a comma-separated list flag.
type csvFlag []string

func (c *csvFlag) String() string { return strings.Join(*c, ",") }

func (c *csvFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*c = append(*c, s)
		}
	}
	return nil
}

func deployAWS(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "deploy aws")
	out := fs.String("out", "", "write the template (and the Lambda packages) to this folder")
	format := fs.String("format", "json", "template format: json or yaml")
	noBuild := fs.Bool("no-build", false, "write the template only, without building the Lambda packages")
	stack := fs.String("stack", "", "deploy to this CloudFormation stack (create or update through a change set)")
	region := fs.String("region", "", "AWS region of the stack")
	definition := fs.String("definition", "", "state machine definition (default pipelines/media.asl.json, else the one built in)")
	rules := fs.String("rules", "", "rules file (default pipelines/media.rules.json, else the one built in)")
	var tenants csvFlag
	fs.Var(&tenants, "tenants", "tenants to provision, comma-separated: an S3 access point and an uploader role each")
	var o awsdeploy.Options
	fs.StringVar(&o.BucketName, "bucket", "", "media bucket name (default: chosen by CloudFormation)")
	fs.StringVar(&o.BedrockModel, "bedrock-model", "", "Bedrock model id of the summarise function")
	fs.IntVar(&o.AlarmThreshold, "alarm-threshold", 0, "failed executions in 5 minutes that raise the alarm (default 5)")
	fs.StringVar(&o.AlertEmail, "alert-email", "", "e-mail address subscribed to the alerts")
	fs.StringVar(&o.AlertWebhook, "alert-webhook", "", "https URL subscribed to the alerts")
	fs.IntVar(&o.LogRetentionDays, "log-retention", 0, "days the logs are kept (default 30)")
	fs.StringVar(&o.KMSKeyARN, "kms-key", "", "KMS key ARN for the bucket's encryption (default SSE-S3)")
	fs.IntVar(&o.AbortMultipartDays, "abort-multipart-days", 0, "days before incomplete uploads are aborted (default 7)")
	fs.IntVar(&o.ProcessedNoncurrent, "processed-versions-days", 0, "days replaced versions under processed/ are kept (default 30)")
	fs.StringVar(&o.Architecture, "arch", "arm64", "Lambda architecture: arm64 or x86_64")
	fs.StringVar(&o.CodeBucket, "code-bucket", "", "S3 bucket the Lambda package is uploaded to (for --stack)")
	fs.StringVar(&o.ImageURI, "image-uri", "", "container image (deploy/aws/Dockerfile) of the functions that run ffmpeg and tesseract")
	pos, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return UsageError("unexpected arguments: %s", strings.Join(pos, " "))
	}
	if (*out == "") == (*stack == "") {
		return UsageError("give --out DIR (write the template) or --stack NAME (deploy it)")
	}
	if *format != "json" && *format != "yaml" {
		return UsageError("--format: %q (want json or yaml)", *format)
	}
	o.Tenants = tenants
	o.StateMachine = pipelines.MediaName
	if o.Definition, o.DefinitionFile, err = readDefinition(*definition, "pipelines/media.asl.json", pipelines.MediaDefinition); err != nil {
		return err
	}
	if o.Rules, o.RulesFile, err = readDefinition(*rules, "pipelines/media.rules.json", pipelines.MediaRules); err != nil {
		return err
	}
	if *stack != "" {
		if *region == "" {
			return UsageError("--stack needs --region")
		}
		if o.CodeBucket == "" {
			return UsageError("--stack needs --code-bucket (an S3 bucket in that region for the Lambda package)")
		}
		return awsdeploy.DeployStack(ctx, awsdeploy.DeployOptions{Stack: *stack, Region: *region, Template: o,
			Build: !*noBuild, Progress: env.Stdout})
	}
	tmpl, err := awsdeploy.Generate(o)
	if err != nil {
		return &ExitError{Code: ExitInvalid, Err: err}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	var body []byte
	name := "template." + *format
	if *format == "yaml" {
		body, err = tmpl.YAML()
	} else {
		body, err = tmpl.JSON()
	}
	if err != nil {
		return err
	}
	path := filepath.Join(*out, name)
	if err := os.WriteFile(path, body, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote %s (%d resources)\n", path, len(tmpl["Resources"].(map[string]any)))
	if *noBuild {
		return nil
	}
	for _, arch := range []string{"arm64", "x86_64"} {
		zip, err := awsdeploy.BuildLambda(ctx, *out, arch)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "wrote %s (bootstrap for provided.al2023, %s)\n", zip, arch)
	}
	return nil
}

// readDefinition reads path, or the repository's file when it is in the
// working directory, or the copy built into the binary.
func readDefinition(path, repoFile string, builtIn []byte) ([]byte, string, error) {
	if path == "" {
		if b, err := os.ReadFile(repoFile); err == nil {
			return b, repoFile, nil
		}
		return builtIn, "built-in " + filepath.Base(repoFile), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", &ExitError{Code: ExitInvalid, Err: err}
	}
	return b, path, nil
}
