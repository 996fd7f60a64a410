package catalog

import (
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// transitions lists the status moves allowed without Reprocess. Staying in
// the same status is always allowed (an update of other fields).
var transitions = map[types.Status][]types.Status{
	types.StatusPending:    {types.StatusProcessing, types.StatusFailed, types.StatusSkipped},
	types.StatusProcessing: {types.StatusSucceeded, types.StatusFailed},
	types.StatusFailed:     {types.StatusPending, types.StatusProcessing}, // retry or redrive
	types.StatusSucceeded:  {},
	types.StatusSkipped:    {types.StatusPending, types.StatusProcessing}, // a rule now starts it
}

// CheckTransition reports whether a media item may move from one status to
// another. Nothing leaves SUCCEEDED except an explicit reprocess, which may
// move it to PENDING or PROCESSING. A forbidden move is errcode.FailedPrecond.
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
	if reprocess && from == types.StatusSucceeded && (to == types.StatusPending || to == types.StatusProcessing) {
		return nil
	}
	if from == types.StatusSucceeded {
		return errcode.New(errcode.FailedPrecond, "catalog: media %q is SUCCEEDED and cannot move to %s without reprocess", id, to)
	}
	return errcode.New(errcode.FailedPrecond, "catalog: media %q cannot move from %s to %s", id, from, to)
}

func validStatus(field string, s types.Status) error {
	switch s {
	case types.StatusPending, types.StatusProcessing, types.StatusSucceeded, types.StatusFailed, types.StatusSkipped:
		return nil
	}
	return invalid("catalog: %s: unknown status %q (want PENDING, PROCESSING, SUCCEEDED, FAILED or SKIPPED)", field, s)
}
