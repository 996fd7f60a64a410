package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/landfall/landfall/client"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// TestProblemBecomesErrcode: an error response's problem document comes
// back as an errcode error with the server's code and detail; a body that
// is not a problem is reported with the status.
func TestProblemBecomesErrcode(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k1" || r.URL.Query().Get("tenant") != "t1" {
			t.Errorf("request %s: auth %q, query %q", r.URL, r.Header.Get("Authorization"), r.URL.RawQuery)
		}
		switch r.URL.Path {
		case "/v1/media/missing":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(types.Problem{Type: "https://landfall.dev/problems/not-found", Title: "Not Found", Status: 404, Detail: "no media \"missing\"", Code: string(errcode.NotFound)})
		default:
			http.Error(w, "upstream broke", http.StatusBadGateway)
		}
	}))
	t.Cleanup(srv.Close)
	c := &client.Client{BaseURL: srv.URL, APIKey: "k1", Tenant: "t1"}

	_, err := c.GetMedia(context.Background(), "missing")
	var e *errcode.Error
	if !errors.As(err, &e) || e.Code != errcode.NotFound || e.Message != "no media \"missing\"" {
		t.Fatalf("got %#v, want errcode NotFound with the server's detail", err)
	}

	_, err = c.GetMedia(context.Background(), "other")
	if err == nil || errors.As(err, &e) || err.Error() != "GET /v1/media/other: HTTP 502: upstream broke" {
		t.Fatalf("got %v, want the HTTP status and body", err)
	}
}
