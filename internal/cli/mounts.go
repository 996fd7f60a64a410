package cli

import (
	"net/http"

	"github.com/landfall/landfall/app"
)

// mounts adds the workflow REST API and the Step Functions protocol to the
// server.
func mounts(a *app.App) (map[string]http.Handler, http.Handler) {
	return nil, nil
}
