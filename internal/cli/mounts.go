package cli

import (
	"net/http"

	"github.com/landfall/landfall/apiserver/sfnapi"
	"github.com/landfall/landfall/apiserver/workflowapi"
	"github.com/landfall/landfall/app"
)

// mounts adds the workflow REST API (/v1/state-machines, /v1/executions,
// /v1/tasks, /v1/activities) and the AWS Step Functions JSON protocol
// (POST / with X-Amz-Target) to the server. The Step Functions protocol
// authenticates with SigV4, which Landfall does not verify, so it is
// served only when the API is open (no tenants with keys configured).
func mounts(a *app.App) (map[string]http.Handler, http.Handler) {
	m := workflowapi.New(a.Engine).Mounts()
	if len(a.Cfg.Tenants) > 0 {
		return m, nil
	}
	return m, sfnapi.New(a.Engine)
}
