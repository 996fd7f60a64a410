package aws

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/landfall/landfall/errcode"
)

// httpGet fetches a Transcribe output file from its (presigned) URL.
func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, errcode.Wrap(errcode.ProviderTransient, err, "aws: fetching the transcript")
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		code := errcode.ProviderFailed
		if resp.StatusCode >= 500 || resp.StatusCode == 429 {
			code = errcode.ProviderTransient
		}
		return nil, errcode.New(code, "aws: fetching the transcript: HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, errcode.Wrap(errcode.ProviderTransient, err, "aws: reading the transcript")
	}
	return b, nil
}

var _ = fmt.Sprint
