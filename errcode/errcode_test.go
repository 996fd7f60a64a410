package errcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestIsAndOf(t *testing.T) {
	err := fmt.Errorf("probe: %w", New(MediaCorrupt, "moov atom not found in %s", "a.mp4"))
	if !errors.Is(err, MediaCorrupt) {
		t.Fatal("errors.Is(err, MediaCorrupt) = false")
	}
	if errors.Is(err, MediaUnsupported) {
		t.Fatal("errors.Is(err, MediaUnsupported) = true")
	}
	if got := Of(err); got != MediaCorrupt {
		t.Fatalf("Of = %q", got)
	}
	if got := MessageOf(err); got != "moov atom not found in a.mp4" {
		t.Fatalf("MessageOf = %q", got)
	}
	if Of(errors.New("plain")) != Unknown || Of(nil) != "" {
		t.Fatal("Of on plain or nil error")
	}
	if Wrap(Invalid, nil, "x") != nil {
		t.Fatal("Wrap(nil) != nil")
	}
}
