package sfnapi

import (
	"maps"
	"slices"
)

// Actions lists the Step Functions actions the handler serves (the
// <Action> of X-Amz-Target: AWSStepFunctions.<Action>), sorted.
func Actions() []string { return slices.Sorted(maps.Keys(actions)) }
