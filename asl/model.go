package asl

import (
	"time"

	"github.com/landfall/landfall/asl/expr"
)

// Pattern is a Task's service integration pattern.
type Pattern string

// Integration patterns.
const (
	RequestResponse  Pattern = "RequestResponse"
	Sync             Pattern = "Sync"
	WaitForTaskToken Pattern = "WaitForTaskToken"
)

// state is one compiled state.
type state struct {
	name, typ, ptr, comment string
	g                       *graph
	ql                      string
	next                    string
	end                     bool
	// usesContext is set when the state's definition mentions the context
	// object ($$ or $states), so it is built only for those states.
	usesContext bool

	// JSONPath data flow
	inputPath, outputPath *pathSpec
	resultPath            *resultPathSpec
	parameters            evaluator
	resultSelector        evaluator
	result                any
	hasResult             bool
	resultTooLarge        bool // a Pass Result over MaxPayloadBytes
	resultSize            int  // the Pass Result's JSON length
	// JSONata data flow
	arguments, output evaluator
	assign            *assignSpec

	// Task
	resource           string
	pattern            Pattern
	timeout, heartbeat *valueSpec
	credentials        evaluator
	// Task, Parallel, Map
	retry []retrier
	catch []catcher
	// Choice
	choices     []*choiceRule
	defaultNext string
	// Wait
	wait *waitSpec
	// Fail
	failSpec *failSpec
	// Parallel
	branches []*graph
	// Map
	mapSpec *mapSpec
}

// pathSpec is a reference path that reads the input ($...), the context
// object ($$...) or a variable ($name...); null means "an empty object".
type pathSpec struct {
	src  string
	null bool
	p    *expr.Path
}

// resultPathSpec is a ResultPath: discard (null), replace ($) or set.
type resultPathSpec struct {
	src     string
	discard bool
	ref     *expr.ReferencePath
}

type assignSpec struct {
	t evaluator
}

type retrier struct {
	errorEquals     []string
	intervalSeconds int
	maxAttempts     int
	backoffRate     float64
	maxDelaySeconds int
	jitterFull      bool
}

type catcher struct {
	errorEquals []string
	next        string
	resultPath  *resultPathSpec
	output      evaluator
	assign      *assignSpec
}

// valueSpec is a field that is a literal, a JSONPath reference, an
// intrinsic (ErrorPath/CausePath) or a JSONata expression.
type valueSpec struct {
	field      string
	src        string
	fixed      int
	fixedFloat float64
	isFloat    bool
	fixedStr   string
	isStr      bool
	fixedTime  time.Time
	isTime     bool
	path       *pathSpec
	intrinsic  evaluator
	jsonata    evaluator
}

type waitSpec struct {
	seconds, timestamp *valueSpec
}

type failSpec struct {
	errorV, causeV *valueSpec
}

type mapSpec struct {
	mode, executionType string
	processor           *graph
	itemsPath           *pathSpec
	items               evaluator
	itemsSrc            string
	itemSelector        evaluator
	maxConcurrency      *valueSpec
	toleratedCount      *valueSpec
	toleratedPercent    *valueSpec
	reader              *readerSpec
	batcher             *batcherSpec
	writer              *resultWriterSpec
}

type readerSpec struct {
	resource          string
	params            evaluator
	inputType         string
	csvHeaderLocation string
	csvHeaders        []string
	csvDelimiter      rune
	maxItems          *valueSpec
}

type batcherSpec struct {
	maxItems, maxBytes *valueSpec
	batchInput         evaluator
}

type resultWriterSpec struct {
	resource string
	params   evaluator
	config   any
}
