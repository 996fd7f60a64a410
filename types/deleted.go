package types

// MediaDeleted says what deleting a media item removed; the API answers
// DELETE /v1/media/{id} with it.
type MediaDeleted struct {
	ID string `json:"id"`
	// StoppedExecutions were running for the item and were stopped first.
	StoppedExecutions []string `json:"stopped_executions"`
	// Objects are the bucket keys removed: the original and its
	// processed/ and work/ artefacts.
	Objects []string `json:"objects"`
	// WorkFiles counts files removed from this process's work folder.
	WorkFiles     int   `json:"work_files"`
	SearchEntries int64 `json:"search_entries"`
	Failures      int64 `json:"failures"`
	Record        bool  `json:"record"`
}
