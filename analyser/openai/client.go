// Package openai serves Landfall's transcribe, summarise and embed tasks from
// any OpenAI-compatible server: OpenAI itself, whisper servers (speaches,
// faster-whisper), Ollama, vLLM or llama.cpp. Base URL, models and key come
// from configuration; the app registers the analysers it configures.
//
// HTTP failures become named errors that the state machine's Retry
// matches: 429 is Provider.Throttled, 5xx and timeouts are
// Provider.Transient, other 4xx are Provider.Failed, and output that is
// not what the API documents is Provider.BadOutput.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/landfall/landfall/errcode"
)

// Config configures a client.
type Config struct {
	BaseURL         string // e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1
	APIKey          string // sent as a Bearer token when set
	TranscribeModel string // e.g. whisper-1
	ChatModel       string // e.g. gpt-4o-mini, llama3.1
	EmbeddingModel  string // e.g. text-embedding-3-small
	// RealtimeModel transcribes live captions in a realtime session
	// (default TranscribeModel, else gpt-4o-transcribe); RealtimeURL is
	// the session's WebSocket URL (default
	// <BaseURL>/realtime?intent=transcription, http(s) becoming ws(s)).
	RealtimeModel string
	RealtimeURL   string
	Timeout       time.Duration // per request; default 5 minutes
	// TokenBudget bounds the prompt of one summarise call (approximate
	// tokens); longer transcripts are map-reduced. Default 6000.
	TokenBudget int
	HTTPClient  *http.Client
}

// Client talks to one OpenAI-compatible server.
type Client struct {
	cfg  Config
	http *http.Client
	// ownHTTP is set when the client made its own http.Client, whose idle
	// connections Close releases.
	ownHTTP bool
}

// Close releases the idle connections of the client's own HTTP client
// (one passed in Config.HTTPClient is its owner's to manage).
func (c *Client) Close() error {
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
	return nil
}

// New returns a client, checking the configuration.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errcode.New(errcode.ProviderNotConfigured, "openai: base_url is not set")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.TokenBudget <= 0 {
		cfg.TokenBudget = 6000
	}
	hc, own := cfg.HTTPClient, false
	if hc == nil {
		hc, own = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}, true
	}
	return &Client{cfg: cfg, http: hc, ownHTTP: own}, nil
}

// apiError is the error body OpenAI-compatible servers return.
type apiError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	} `json:"error"`
}

// do sends req and decodes a JSON response into out, mapping failures to
// named errors.
func (c *Client) do(ctx context.Context, req *http.Request, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req = req.WithContext(ctx)
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
			return errcode.Wrap(errcode.ProviderTransient, err, "%s %s timed out after %s", req.Method, req.URL.Path, c.cfg.Timeout)
		case errors.Is(err, context.Canceled):
			return errcode.Wrap(errcode.Canceled, err, "%s %s", req.Method, req.URL.Path)
		}
		return errcode.Wrap(errcode.ProviderTransient, err, "%s %s", req.Method, req.URL.Path)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return errcode.Wrap(errcode.ProviderTransient, err, "reading %s response", req.URL.Path)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(body))
		var ae apiError
		if json.Unmarshal(body, &ae) == nil && ae.Error.Message != "" {
			msg = ae.Error.Message
		}
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		code := errcode.ProviderFailed
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			code = errcode.ProviderThrottled
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
			code = errcode.ProviderTransient
		}
		return errcode.New(code, "%s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, msg)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return errcode.New(errcode.ProviderBadOutput, "%s %s: response is not the documented JSON: %v", req.Method, req.URL.Path, err)
	}
	return nil
}

func (c *Client) postJSON(ctx context.Context, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, c.cfg.BaseURL+path, bytes.NewReader(b))
	if err != nil {
		return errcode.Wrap(errcode.ProviderNotConfigured, err, "openai: base_url %q", c.cfg.BaseURL)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(ctx, req, out)
}

func errorf(code errcode.Code, format string, args ...any) error {
	return errcode.New(code, "openai: "+format, args...)
}

var _ = fmt.Sprintf
