package app

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/workflow"
)

// Metrics are the process's Prometheus metrics.
type Metrics struct {
	reg        *prometheus.Registry
	started    prometheus.Counter
	media      *prometheus.CounterVec
	analyser   *prometheus.HistogramVec
	analyserFx *prometheus.CounterVec
	refused    *prometheus.CounterVec
}

// NewMetrics registers Landfall's metrics in a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.started = prometheus.NewCounter(prometheus.CounterOpts{Name: "landfall_executions_started_total", Help: "Pipeline executions started by rules."})
	m.media = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "landfall_media_finished_total", Help: "Media items that finished the pipeline, by status."}, []string{"status"})
	m.analyser = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "landfall_analyser_duration_seconds", Help: "Analyser run time.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}, []string{"analyser"})
	m.analyserFx = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "landfall_analyser_failures_total", Help: "Analyser failures by error name."}, []string{"analyser", "error"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "landfall_http_refused_total",
		Help: "Requests refused before reaching a handler: no or bad credential, not allowed, rate-limited (by error code)."}, []string{"code"})
	m.reg.MustRegister(m.started, m.media, m.analyser, m.analyserFx, m.refused, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) executionStarted() {
	if m != nil {
		m.started.Inc()
	}
}

// Refused counts a request the API's access layer refused.
func (m *Metrics) Refused(code errcode.Code) {
	if m != nil {
		m.refused.WithLabelValues(string(code)).Inc()
	}
}

func (m *Metrics) mediaDone(status string) {
	if m != nil {
		m.media.WithLabelValues(status).Inc()
	}
}

func (m *Metrics) observeAnalyser(id string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.analyser.WithLabelValues(id).Observe(d.Seconds())
	if err != nil {
		m.analyserFx.WithLabelValues(id, string(errcode.Of(err))).Inc()
	}
}

// Handler serves the metrics, adding executions by status read from the
// engine at scrape time.
func (m *Metrics) Handler(a *App) http.Handler {
	execs := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "landfall_executions", Help: "Executions of the media pipeline by status (most recent 1000 per status)."}, []string{"status"})
	m.reg.MustRegister(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, st := range []string{"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"} {
			xs, _, err := a.Engine.ListExecutions(ctx, workflow.ListExecutionsParams{Status: st, Limit: 1000})
			if err == nil {
				execs.WithLabelValues(st).Set(float64(len(xs)))
			}
		}
		execs.Collect(ch)
	}))
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
