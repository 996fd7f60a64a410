package expr

import (
	"testing"
)

// benchInput is an S3 "Object Created" event, the pipeline's usual input.
func benchInput() any {
	v, err := Decode([]byte(`{"version":"0","id":"e1","detail-type":"Object Created","source":"aws.s3",
		"detail":{"bucket":{"name":"media"},"object":{"key":"incoming/t1/a.mp4","size":2048,"etag":"abc"}},
		"items":[{"id":1,"kind":"audio"},{"id":2,"kind":"video"},{"id":3,"kind":"video"}]}`))
	if err != nil {
		panic(err)
	}
	return v
}

func benchContext() any {
	return map[string]any{"Execution": map[string]any{"Id": "arn:aws:states:us-east-1:1:execution:m:e", "Name": "e"}}
}

func BenchmarkPathGetDefinite(b *testing.B) {
	p := MustCompilePath("$.detail.object.key")
	doc := benchInput()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Get(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPathGetIndex(b *testing.B) {
	p := MustCompilePath("$.items[-1].kind")
	doc := benchInput()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Get(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPathGetFilter(b *testing.B) {
	p := MustCompilePath("$.items[?(@.kind == 'video')].id")
	doc := benchInput()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Get(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSetPath(b *testing.B) {
	r, err := CompileReferencePath("$.result")
	if err != nil {
		b.Fatal(err)
	}
	doc := benchInput()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Set(doc, "ok"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTemplateEval5 is a Parameters block with five fields: four
// paths (one into the context object) and a literal.
func BenchmarkTemplateEval5(b *testing.B) {
	v, _ := Decode([]byte(`{"bucket.$":"$.detail.bucket.name","key.$":"$.detail.object.key","size.$":"$.detail.object.size",
		"execution.$":"$$.Execution.Id","kind":"media"}`))
	t := MustCompileTemplate(v)
	env := &Env{Input: benchInput(), Context: benchContext()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.Eval(env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIntrinsicFormat(b *testing.B) {
	f := MustCompileIntrinsic("States.Format('{}/{}', $.detail.bucket.name, $.detail.object.key)")
	env := &Env{Input: benchInput()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Eval(env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIntrinsicMathAdd(b *testing.B) {
	f := MustCompileIntrinsic("States.MathAdd($.detail.object.size, 1)")
	env := &Env{Input: benchInput()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Eval(env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONataPath(b *testing.B) {
	j := MustCompileJSONata("{% $states.input.detail.object.key %}")
	env := &Env{Input: benchInput(), Context: benchContext()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.Eval(env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONataTemplate5(b *testing.B) {
	v, _ := Decode([]byte(`{"bucket":"{% $states.input.detail.bucket.name %}","key":"{% $states.input.detail.object.key %}",
		"size":"{% $states.input.detail.object.size %}","execution":"{% $states.context.Execution.Id %}","kind":"media"}`))
	t, err := CompileJSONataTemplate(v)
	if err != nil {
		b.Fatal(err)
	}
	env := &Env{Input: benchInput(), Context: benchContext()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.Eval(env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSONataEngine is an expression the engine evaluates (not a
// plain path).
func BenchmarkJSONataEngine(b *testing.B) {
	j := MustCompileJSONata("{% $states.input.detail.object.size > 1024 and $count($states.input.items) = 3 %}")
	env := &Env{Input: benchInput(), Context: benchContext()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.Eval(env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSONataEngineParallel evaluates expressions the engine runs
// (built-in calls, a lambda, ~>) from GOMAXPROCS goroutines at once: one
// compiled expression is shared by every execution of a state machine.
func BenchmarkJSONataEngineParallel(b *testing.B) {
	for _, c := range []struct{ name, src string }{
		{"builtins", "{% $states.input.detail.object.size > 1024 and $count($states.input.items) = 3 %}"},
		{"lambda", "{% $sum($map($states.input.items, function($v) { $v.id * 2 })) %}"},
	} {
		j := MustCompileJSONata(c.src)
		b.Run(c.name, func(b *testing.B) {
			env := &Env{Input: benchInput(), Context: benchContext()}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := j.Eval(env); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
