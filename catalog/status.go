package catalog

import (
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// transitions lists the status moves allowed without Reprocess. Staying in
// the same status is always allowed (an update of other fields).
var transitions = map[types.Status][]types.Status{
	types.StatusPending:    {types.StatusProcessing, types.StatusFailed, types.StatusSkipped},
	types.StatusProcessing: {types.StatusSucceeded, types.StatusFailed, types.StatusInReview, types.StatusRejected},
	// In review: approved (publishing), changes requested (re-running a
	// step), rejected, or failed on the way.
	types.StatusInReview:  {types.StatusProcessing, types.StatusSucceeded, types.StatusFailed, types.StatusRejected},
	types.StatusRejected:  {},
	types.StatusFailed:    {types.StatusPending, types.StatusProcessing}, // retry or redrive
	types.StatusSucceeded: {},
	types.StatusSkipped:   {types.StatusPending, types.StatusProcessing}, // a rule now starts it
}

// CheckTransition reports whether a media item may move from one status to
// another. Nothing leaves SUCCEEDED or REJECTED except an explicit
// reprocess, which may move it to PENDING or PROCESSING. A forbidden move is errcode.FailedPrecond.
func CheckTransition(id string, from, to types.Status, reprocess bool) error {
	if err := validStatus("status", to); err != nil {
		return err
	}
	if from == to {
		return nil
	}
	for _, s := range transitions[from] {
		if s == to {
			return nil
		}
	}
	final := from == types.StatusSucceeded || from == types.StatusRejected
	if reprocess && final && (to == types.StatusPending || to == types.StatusProcessing) {
		return nil
	}
	if final {
		return errcode.New(errcode.FailedPrecond, "catalog: media %q is %s and cannot move to %s without reprocess", id, from, to)
	}
	return errcode.New(errcode.FailedPrecond, "catalog: media %q cannot move from %s to %s", id, from, to)
}

func validStatus(field string, s types.Status) error {
	switch s {
	case types.StatusPending, types.StatusProcessing, types.StatusSucceeded, types.StatusFailed, types.StatusSkipped,
		types.StatusInReview, types.StatusRejected:
		return nil
	}
	return invalid("catalog: %s: unknown status %q (want PENDING, PROCESSING, SUCCEEDED, FAILED, SKIPPED, IN_REVIEW or REJECTED)", field, s)
}
