package cli

import (
	"net/http"

	"github.com/landfall/landfall/apiserver/sfnapi"
	"github.com/landfall/landfall/apiserver/sqsapi"
	"github.com/landfall/landfall/apiserver/workflowapi"
	"github.com/landfall/landfall/app"
)

// mounts adds the workflow REST API and the Step Functions protocol to the
// server, with the SQS protocol of the engine's queues on the same
// endpoint (told apart by X-Amz-Target).
func mounts(a *app.App) (map[string]http.Handler, http.Handler) {
	return workflowapi.New(a.Engine).Mounts(), sqsapi.New(a.Engine, sfnapi.New(a.Engine))
}
