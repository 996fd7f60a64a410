package workflow

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/landfall/landfall/asl"
)

// MapIO reads the items of Maps with an ItemReader and writes the results
// of Maps with a ResultWriter, for the tenant an execution runs for (an
// implementation scopes the objects it reaches to that tenant).
type MapIO interface {
	// OpenItems opens the object (s3:getObject) or the listing of a
	// prefix (s3:listObjectsV2, a JSON array of {"Key", "Size", ...})
	// that read names.
	OpenItems(ctx context.Context, tenant string, read *asl.ItemRead) (io.ReadCloser, error)
	// WriteResults stores w's files (asl.ResultWrite.Files) and returns
	// the details the Map outputs.
	WriteResults(ctx context.Context, tenant string, w *asl.ResultWrite) (any, error)
}

// maxDistributedConcurrency bounds the iterations of a distributed Map
// that run at once (a Map's MaxConcurrency may set fewer).
const maxDistributedConcurrency = 1000

// mapIO is a step's access to the configured MapIO.
type mapIO struct {
	ctx    context.Context
	tenant string
	io     MapIO
}

func (m *mapIO) readItems(machine *asl.Machine, f *asl.Frame, read *asl.ItemRead, sc asl.StepContext) asl.Outcome {
	if m == nil || m.io == nil {
		return machine.FailItemRead(f, "no item reader is configured: this engine reads Map items from Landfall's bucket only when it is given one", sc)
	}
	rc, err := m.io.OpenItems(m.ctx, m.tenant, read)
	if err != nil {
		return machine.FailItemRead(f, causeOf(err), sc)
	}
	defer rc.Close()
	return machine.CompleteItemRead(f, rc, sc)
}

func (m *mapIO) writeResults(machine *asl.Machine, f *asl.Frame, w *asl.ResultWrite, sc asl.StepContext) asl.Outcome {
	if m == nil || m.io == nil {
		return machine.FailResultWrite(f, "no result writer is configured to write to "+w.Resource, sc)
	}
	details, err := m.io.WriteResults(m.ctx, m.tenant, w)
	if err != nil {
		return machine.FailResultWrite(f, causeOf(err), sc)
	}
	return machine.CompleteResultWrite(f, details, sc)
}

func causeOf(err error) string {
	var te *TaskError
	if errors.As(err, &te) {
		return te.Cause
	}
	var ae *asl.TaskError
	if errors.As(err, &ae) {
		return ae.Cause
	}
	return err.Error()
}

// quiet reports whether f is an iteration of a distributed Map, or runs
// inside one: such frames write no history events. newFrame writes a
// distributed Map's iterations into the path as /State{i} (other
// iterations as /State[i]); a segment of a frame's path ends with "}"
// only then.
func (f *frameRow) quiet() bool {
	for _, seg := range strings.Split(f.path, "/") {
		if strings.HasSuffix(seg, "}") {
			return true
		}
	}
	return false
}
