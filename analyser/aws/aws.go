// Package aws serves Landfall's transcribe, labels, moderate and summarise
// tasks from AWS: Amazon Transcribe (batch jobs, polled), Amazon
// Rekognition (labels and moderation on images and on video keyframes) and
// Amazon Bedrock (Converse, with the insights document returned through a
// forced tool call). Credentials come from the standard AWS chain.
//
// AWS errors become named errors the state machine's Retry matches:
// throttling is Provider.Throttled, service faults and timeouts are
// Provider.Transient, other client errors Provider.Failed.
package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/transcribe"
	"github.com/aws/smithy-go"

	"github.com/landfall/landfall/errcode"
)

// Config configures the AWS providers.
type Config struct {
	Region   string
	Profile  string
	Endpoint string // one endpoint for every service (tests, LocalStack); empty = AWS
	// MediaURI returns the s3:// URI of a media item already in S3 (when
	// Landfall's own bucket is S3), or "" to stage the local file.
	MediaURI func(key string) string
	// StagingBucket receives local files that Transcribe or Rekognition
	// must read from S3.
	StagingBucket string
	BedrockModel  string // e.g. anthropic.claude-3-5-haiku-20241022-v1:0
	// RekognitionTopic is the SNS topic ARN Rekognition Video publishes
	// its jobs' completion to, as RekognitionRole (a role Rekognition may
	// assume with sns:Publish on the topic). Without both, videos are
	// labelled and moderated on their keyframes.
	RekognitionTopic string
	RekognitionRole  string
	Poll             time.Duration // Transcribe job polling interval (default 5 s)
	TokenBudget      int           // approximate tokens per Bedrock call (default 6000)
	// AWS is a ready SDK configuration (tests); when nil it is loaded.
	AWS *awssdk.Config
}

// Clients holds the SDK clients.
type Clients struct {
	cfg         Config
	Transcribe  *transcribe.Client
	Rekognition *rekognition.Client
	Bedrock     *bedrockruntime.Client
	S3          *s3.Client
	HTTP        func(ctx context.Context, url string) ([]byte, error) // fetches transcripts
}

// New loads the AWS configuration and builds the clients.
func New(ctx context.Context, cfg Config) (*Clients, error) {
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.TokenBudget <= 0 {
		cfg.TokenBudget = 6000
	}
	ac, err := sdkConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var ep *string
	if cfg.Endpoint != "" {
		ep = awssdk.String(cfg.Endpoint)
	}
	c := &Clients{cfg: cfg,
		Transcribe:  transcribe.NewFromConfig(ac, func(o *transcribe.Options) { o.BaseEndpoint = ep }),
		Rekognition: rekognition.NewFromConfig(ac, func(o *rekognition.Options) { o.BaseEndpoint = ep }),
		Bedrock:     bedrockruntime.NewFromConfig(ac, func(o *bedrockruntime.Options) { o.BaseEndpoint = ep }),
		S3:          s3.NewFromConfig(ac, func(o *s3.Options) { o.BaseEndpoint = ep; o.UsePathStyle = ep != nil }),
	}
	c.HTTP = httpGet
	return c, nil
}

// sdkConfig is the SDK configuration: cfg.AWS, or loaded from the
// standard chain with cfg's region and profile.
func sdkConfig(ctx context.Context, cfg Config) (awssdk.Config, error) {
	var ac awssdk.Config
	if cfg.AWS != nil {
		ac = *cfg.AWS
	} else {
		var opts []func(*config.LoadOptions) error
		if cfg.Region != "" {
			opts = append(opts, config.WithRegion(cfg.Region))
		}
		if cfg.Profile != "" {
			opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
		}
		var err error
		if ac, err = config.LoadDefaultConfig(ctx, opts...); err != nil {
			return ac, errcode.Wrap(errcode.ProviderNotConfigured, err, "aws: loading configuration")
		}
	}
	if ac.Region == "" {
		return ac, errcode.New(errcode.ProviderNotConfigured, "aws: no region (set aws.region or AWS_REGION)")
	}
	return ac, nil
}

// classify maps an SDK error to a named error.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return errcode.Wrap(errcode.Canceled, err, "%s", what)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return errcode.Wrap(errcode.ProviderTransient, err, "%s: timed out", what)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		msg := fmt.Sprintf("%s: %s: %s", what, code, ae.ErrorMessage())
		switch {
		case strings.Contains(code, "Throttl") || code == "LimitExceededException" || code == "ProvisionedThroughputExceededException" ||
			code == "TooManyRequestsException" || code == "ServiceQuotaExceededException":
			return errcode.New(errcode.ProviderThrottled, "%s", msg)
		case ae.ErrorFault() == smithy.FaultServer || strings.Contains(code, "InternalServer") || strings.Contains(code, "InternalFailure") ||
			code == "ServiceUnavailableException" || code == "ModelNotReadyException":
			return errcode.New(errcode.ProviderTransient, "%s", msg)
		case code == "InvalidImageFormatException" || code == "ImageTooLargeException":
			return errcode.New(errcode.MediaUnsupported, "%s", msg)
		}
		return errcode.New(errcode.ProviderFailed, "%s", msg)
	}
	return errcode.Wrap(errcode.ProviderTransient, err, "%s", what)
}

// stage returns an s3:// URI for a media file: its own when Landfall's
// bucket is S3, else a copy in the staging bucket.
func (c *Clients) stage(ctx context.Context, mediaID, key, path string) (bucket, objectKey string, err error) {
	if c.cfg.MediaURI != nil {
		if uri := c.cfg.MediaURI(key); uri != "" {
			b, k, ok := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
			if ok {
				return b, k, nil
			}
		}
	}
	if c.cfg.StagingBucket == "" {
		return "", "", errcode.New(errcode.ProviderNotConfigured, "aws: the media is not in S3 and aws.transcribe_bucket (staging) is not set")
	}
	f, err := os.Open(path)
	if err != nil {
		return "", "", fileError(err, path)
	}
	defer f.Close()
	objectKey = "landfall-staging/" + mediaID + "/" + filepath.Base(path)
	if _, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String(c.cfg.StagingBucket), Key: awssdk.String(objectKey), Body: f}); err != nil {
		return "", "", classify(err, "aws: staging to s3://"+c.cfg.StagingBucket)
	}
	return c.cfg.StagingBucket, objectKey, nil
}
