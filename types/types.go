// Package types holds the small data model shared across Landfall's layers:
// media kinds and statuses, the internal transcript, and the insights
// document. Times inside Landfall are float seconds; formats that use other
// units (Transcribe strings, Rekognition milliseconds, caption clocks)
// convert at the edges.
package types

// Kind is what a file holds, as decided by classify.
type Kind string

const (
	KindAudio       Kind = "audio"
	KindVideo       Kind = "video"
	KindImage       Kind = "image"
	KindUnsupported Kind = "unsupported"
)

// Status is where a media item is in the pipeline.
type Status string

const (
	StatusPending    Status = "PENDING"    // stored, no execution yet
	StatusProcessing Status = "PROCESSING" // an execution is running
	StatusSucceeded  Status = "SUCCEEDED"
	StatusFailed     Status = "FAILED"
	// StatusSkipped: the object was stored but no rule started the
	// pipeline for it; Media.Cause says why.
	StatusSkipped Status = "SKIPPED"
	// StatusInReview: the analysis is done and stored, and the item waits
	// for a person's decision in the review queue before it is published.
	StatusInReview Status = "IN_REVIEW"
	// StatusRejected: a reviewer rejected the item; Media.Cause holds the
	// reviewer's reason. It is an outcome, not a failure.
	StatusRejected Status = "REJECTED"
)
