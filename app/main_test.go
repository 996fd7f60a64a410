package app

import (
	"os"
	"testing"

	"github.com/landfall/landfall/blob/s3blob/s3test"
)

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}
