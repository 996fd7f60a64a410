// Command landfall-lambda is the AWS Lambda handler of Landfall's pipeline
// tasks: built as the bootstrap of the provided.al2023 runtime, it serves
// every landfall-<task> function of the stack `landfall deploy aws`
// creates (see deploy/aws/handler).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/landfall/landfall/deploy/aws/handler"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := handler.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg.Logger = log
	h, err := handler.New(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "landfall-lambda:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
