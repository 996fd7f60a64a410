package cli

import (
	"net/http"

	"github.com/landfall/landfall/apiserver/sfnapi"
	"github.com/landfall/landfall/apiserver/workflowapi"
	"github.com/landfall/landfall/app"
)

// mounts adds the workflow REST API and the Step Functions protocol to the
// server.
func mounts(a *app.App) (map[string]http.Handler, http.Handler) {
	return workflowapi.New(a.Engine).Mounts(), sfnapi.New(a.Engine)
}
