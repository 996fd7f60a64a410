package catalog

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/landfall/landfall/types"
)

// NewMedia builds the record MediaCreate stores from p, with the defaults
// every driver applies (a new id, PENDING, created now) and the checks
// every driver makes, so that bad input is the same InvalidArgument on
// each. now is the driver's clock, truncated to microseconds.
func NewMedia(p *MediaCreateParams, now time.Time) (*Media, error) {
	m := &Media{
		ID: p.ID, TenantID: p.TenantID, BucketKey: p.BucketKey, Filename: p.Filename, ContentType: p.ContentType,
		Size: p.Size, SHA256: p.SHA256, Kind: p.Kind, Status: p.Status, Version: 1, Duration: p.Duration,
		ExecutionID: p.ExecutionID, CreatedAt: p.CreatedAt.UTC().Truncate(time.Microsecond),
	}
	if m.ID == "" {
		m.ID = NewMediaID()
	}
	if m.Status == "" {
		m.Status = types.StatusPending
	}
	if p.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	m.UpdatedAt = now
	if err := ValidateID("id", m.ID); err != nil {
		return nil, err
	}
	if err := ValidateTenantID("tenant_id", m.TenantID); err != nil {
		return nil, err
	}
	if m.BucketKey == "" {
		return nil, Invalidf("bucket_key: required")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"bucket_key", m.BucketKey, 1024}, {"filename", m.Filename, 1024}, {"content_type", m.ContentType, 255}, {"execution_id", m.ExecutionID, 2048}} {
		if err := ValidateText(f.name, f.v, f.max); err != nil {
			return nil, err
		}
	}
	if m.Size < 0 {
		return nil, Invalidf("size: negative (%d)", m.Size)
	}
	if m.Duration < 0 {
		return nil, Invalidf("duration: negative (%g)", m.Duration)
	}
	if err := ValidateSHA256("sha256", m.SHA256); err != nil {
		return nil, err
	}
	if err := ValidateKind("kind", m.Kind); err != nil {
		return nil, err
	}
	if m.Status != types.StatusPending && m.Status != types.StatusProcessing && m.Status != types.StatusSkipped {
		return nil, Invalidf("status: a new media item is PENDING, PROCESSING or SKIPPED, not %q", m.Status)
	}
	if err := ValidateOutboxEvents("events", p.Events); err != nil {
		return nil, err
	}
	if p.MaxTenantBytes < 0 {
		return nil, Invalidf("max_tenant_bytes: negative (%d)", p.MaxTenantBytes)
	}
	return m, nil
}

// ValidateSHA256 checks a content hash: empty, or 64 lower-case hex digits.
func ValidateSHA256(field, h string) error {
	if h == "" {
		return nil
	}
	if len(h) != 64 {
		return Invalidf("%s: want 64 hex digits, got %d characters", field, len(h))
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return Invalidf("%s: not lower-case hex at character %d", field, i)
		}
	}
	return nil
}

// ValidateKind checks a media kind ("" is unknown yet).
func ValidateKind(field string, k types.Kind) error {
	switch k {
	case "", types.KindAudio, types.KindVideo, types.KindImage, types.KindUnsupported:
		return nil
	}
	return Invalidf("%s: unknown kind %q (want audio, video, image or unsupported)", field, k)
}

// ValidateStatus checks a media status ("" leaves it as it is).
func ValidateStatus(field string, st types.Status) error {
	switch st {
	case "", types.StatusPending, types.StatusProcessing, types.StatusSucceeded, types.StatusFailed, types.StatusSkipped,
		types.StatusInReview, types.StatusRejected:
		return nil
	}
	return Invalidf("%s: unknown status %q (want PENDING, PROCESSING, SUCCEEDED, FAILED, SKIPPED, IN_REVIEW or REJECTED)", field, st)
}

// ValidateOutboxEvents checks events written with a change: unique valid
// ids and JSON payloads of at most 256 KiB.
func ValidateOutboxEvents(field string, evs []OutboxEvent) error {
	seen := map[string]bool{}
	for i, e := range evs {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := ValidateID(f+".id", e.ID); err != nil {
			return err
		}
		if seen[e.ID] {
			return Invalidf("%s.id: %q appears twice", f, e.ID)
		}
		seen[e.ID] = true
		if len(e.Payload) == 0 || !json.Valid(e.Payload) {
			return Invalidf("%s.payload: not valid JSON", f)
		}
		if len(e.Payload) > 256<<10 {
			return Invalidf("%s.payload: larger than 256 KiB", f)
		}
	}
	return nil
}

// ValidateMediaUpdate makes the checks every driver makes on a media
// update and returns the insights as the JSON to store (nil when
// p.Insights is nil).
func ValidateMediaUpdate(p *MediaUpdateParams) (insights []byte, err error) {
	if err := ValidateID("id", p.ID); err != nil {
		return nil, err
	}
	if p.TenantID != "" {
		if err := ValidateTenantID("tenant_id", p.TenantID); err != nil {
			return nil, err
		}
	}
	if err := ValidateStatus("status", p.Status); err != nil {
		return nil, err
	}
	if err := ValidateKind("kind", p.Kind); err != nil {
		return nil, err
	}
	if err := ValidateSHA256("sha256", p.SHA256); err != nil {
		return nil, err
	}
	if p.Size < 0 || p.Duration < 0 || p.Version < 0 {
		return nil, Invalidf("size, duration and version must not be negative")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"bucket_key", p.BucketKey, 1024}, {"filename", p.Filename, 1024}, {"content_type", p.ContentType, 255},
		{"execution_id", p.ExecutionID, 2048}, {"summary", p.Summary, 8192}, {"transcript_key", p.TranscriptKey, 1024},
		{"captions_key", p.CaptionsKey, 1024}, {"error", p.Error, 1024}, {"cause", p.Cause, 32768}} {
		if err := ValidateText(f.name, f.v, f.max); err != nil {
			return nil, err
		}
	}
	if err := ValidateOutboxEvents("events", p.Events); err != nil {
		return nil, err
	}
	if p.Insights != nil {
		if insights, err = json.Marshal(p.Insights); err != nil {
			return nil, Invalidf("insights: %v", err)
		}
		if err := ValidateJSONText("insights", insights); err != nil {
			return nil, err
		}
	}
	return insights, nil
}
