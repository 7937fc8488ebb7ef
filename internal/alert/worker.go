package alert

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// worker delivers one sink's queue, retrying with exponential backoff.
type worker struct {
	n                              *Notifier
	sink                           Sink
	q                              chan *Alert
	sent, failed, retries, dropped prometheus.Counter
	lastLog                        time.Time
	held                           int
}

func (n *Notifier) newWorker(s Sink) *worker {
	w := &worker{n: n, sink: s, q: make(chan *Alert, n.cfg.Queue)}
	name := s.Name()
	w.sent, w.failed = n.met.sent.WithLabelValues(name), n.met.failed.WithLabelValues(name)
	w.retries, w.dropped = n.met.retries.WithLabelValues(name), n.met.dropped.WithLabelValues(name)
	n.met.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "outflow_alert_queue_depth", Help: "Alerts waiting for the sink.",
		ConstLabels: prometheus.Labels{"sink": name}}, func() float64 { return float64(len(w.q)) }))
	return w
}

func (w *worker) run(ctx context.Context) {
	for a := range w.q {
		w.deliver(ctx, a)
	}
}

func (w *worker) deliver(ctx context.Context, a *Alert) {
	cfg := w.n.cfg.Retry
	wait := cfg.Initial
	var err error
	for attempt := 1; ; attempt++ {
		if err = w.sink.Send(ctx, a); err == nil {
			w.sent.Inc()
			return
		}
		var p permanent
		if attempt >= cfg.Attempts || errors.As(err, &p) || ctx.Err() != nil {
			break
		}
		w.retries.Inc()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		wait = min(wait*2, cfg.Max)
	}
	w.failed.Inc()
	// Rate-limited: a dead SIEM must not flood the log.
	if now := w.n.deps.Now(); now.Sub(w.lastLog) >= time.Minute {
		w.n.log.Warn("alert: delivery failed", "sink", w.sink.Name(), "kind", a.Kind, "entity", a.Entity, "err", err, "failures_not_logged", w.held)
		w.lastLog, w.held = now, 0
	} else {
		w.held++
	}
}
