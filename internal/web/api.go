package web

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/store"
)

type route struct {
	path string
	h    http.HandlerFunc
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// list is the envelope of every list the API returns.
type list[T any] struct {
	Since  *time.Time `json:"since,omitempty"`
	Until  time.Time  `json:"until"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
	Items  []T        `json:"items"`
}

// listAPI serves a Reader method that takes a filter and returns rows.
func listAPI[T any](s *Server, def string, get func(context.Context, store.Filter) ([]T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, p, err := s.filter(r.Context(), r.URL.Query(), def, store.MaxLimit)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, err.Error())
			return
		}
		rows, err := get(r.Context(), f)
		if err != nil {
			s.storeFail(w, r, err)
			return
		}
		if rows == nil {
			rows = []T{}
		}
		out := list[T]{Until: p.Until, Limit: f.Limit, Offset: f.Offset, Items: rows}
		if !p.Since.IsZero() {
			out.Since = &p.Since
		}
		s.json(w, r, out)
	}
}

func (s *Server) apiRoutes() []route {
	return []route{
		{"/api/info", func(w http.ResponseWriter, r *http.Request) {
			inf, err := s.r.Info(r.Context())
			if err != nil {
				s.storeFail(w, r, err)
				return
			}
			s.json(w, r, inf)
		}},
		{"/api/overview", func(w http.ResponseWriter, r *http.Request) {
			f, _, err := s.filter(r.Context(), r.URL.Query(), "month", store.MaxLimit)
			if err != nil {
				s.fail(w, r, http.StatusBadRequest, err.Error())
				return
			}
			o, err := s.overview(r.Context(), f)
			if err != nil {
				s.storeFail(w, r, err)
				return
			}
			s.json(w, r, o)
		}},
		{"/api/devices", listAPI(s, "month", cachedList(s, "devices", s.r.Devices))},
		{"/api/devices/{id}", func(w http.ResponseWriter, r *http.Request) {
			f, _, err := s.filter(r.Context(), r.URL.Query(), "all", store.MaxLimit)
			if err != nil {
				s.fail(w, r, http.StatusBadRequest, err.Error())
				return
			}
			d, err := s.device(r.Context(), r.PathValue("id"), f)
			if err != nil {
				s.storeFail(w, r, err)
				return
			}
			s.json(w, r, d)
		}},
		{"/api/flows", listAPI(s, "month", cachedList(s, "flows", s.r.Flows))},
		{"/api/names", listAPI(s, "month", cachedList(s, "names", s.r.Names))},
		{"/api/queries", listAPI(s, "month", cachedList(s, "queries", s.r.Queries))},
		{"/api/blocked", listAPI(s, "month", cachedList(s, "blocked", s.r.Blocked))},
		{"/api/overdue", listAPI(s, "month", cachedList(s, "overdue", s.r.Overdue))},
		{"/api/due", listAPI(s, "month", cachedList(s, "due", s.r.Due))},
		{"/api/audits", listAPI(s, "all", cachedList(s, "audits", s.r.Audits))},
		{"/api/audits/{id}", func(w http.ResponseWriter, r *http.Request) {
			id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
			if err != nil || id < 0 {
				s.fail(w, r, http.StatusBadRequest, "audit id: want a number")
				return
			}
			a, err := s.r.Audit(r.Context(), id)
			if err != nil {
				s.storeFail(w, r, err)
				return
			}
			s.json(w, r, a)
		}},
		{"/api/inventory", listAPI(s, "all", cachedList(s, "inventory", s.r.Inventory))},
		{"/api/uploads", s.uploadsAPI},
		{"/api/uploads/{id}", s.uploadAPI},
		{"/api/alerts", func(w http.ResponseWriter, r *http.Request) {
			// backends with an alert table (SQLite, ClickHouse) implement it
			as, ok := s.r.(store.Alerts)
			if !ok {
				s.fail(w, r, http.StatusNotImplemented, "this store keeps no alerts")
				return
			}
			listAPI(s, "month", as.Alerts)(w, r)
		}},
		{"/api/bypass", func(w http.ResponseWriter, r *http.Request) {
			// backends with a bypass table (SQLite, ClickHouse) implement it
			bs, ok := s.r.(store.Bypasses)
			if !ok {
				s.fail(w, r, http.StatusNotImplemented, "this store keeps no bypass rows")
				return
			}
			listAPI(s, "month", bs.Bypass)(w, r)
		}},
		{"/api/policy/changes", func(w http.ResponseWriter, r *http.Request) {
			cs, ok := s.policyChanges(w, r)
			if !ok {
				return
			}
			s.json(w, r, list[store.PolicyChange]{Until: s.now().UTC(), Limit: store.MaxLimit, Items: cs})
		}},
		{"/api/policy/changes/{id}", func(w http.ResponseWriter, r *http.Request) {
			if _, c, ok := s.changeID(w, r); ok {
				s.json(w, r, c)
			}
		}},
		{"/api/entities", func(w http.ResponseWriter, r *http.Request) {
			_, l := s.entities(r.Context())
			if l == nil {
				l = []store.Entity{}
			}
			s.json(w, r, list[store.Entity]{Until: s.now().UTC(), Limit: len(l), Items: l})
		}},
		{"/api/search", func(w http.ResponseWriter, r *http.Request) {
			q, n, err := searchParams(r)
			if err != nil {
				s.fail(w, r, http.StatusBadRequest, err.Error())
				return
			}
			hits, err := s.search(r.Context(), q, n)
			if err != nil {
				s.storeFail(w, r, err)
				return
			}
			s.json(w, r, list[store.Hit]{Until: s.now().UTC(), Limit: n, Items: hits})
		}},
	}
}

func searchParams(r *http.Request) (string, int, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > maxValue {
		return "", 0, badParam("q: longer than %d bytes", maxValue)
	}
	n := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			return "", 0, badParam("limit: want a positive number")
		}
		n = min(n, 1000)
	}
	return q, n, nil
}

func (s *Server) search(ctx context.Context, q string, n int) ([]store.Hit, error) {
	if q == "" {
		return nil, nil
	}
	return cached(s, ctx, fmt.Sprintf("search %d %q", n, q), func(ctx context.Context) ([]store.Hit, error) { return s.r.Search(ctx, q, n) })
}

// json writes v, gzipped when the client accepts it.
func (s *Server) json(w http.ResponseWriter, r *http.Request, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Vary", "Accept-Encoding")
	var enc *json.Encoder
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		defer gz.Close()
		enc = json.NewEncoder(gz)
	} else {
		enc = json.NewEncoder(w)
	}
	if r.Method == http.MethodHead {
		return
	}
	if err := enc.Encode(v); err != nil {
		s.log.Debug("write response", "path", r.URL.Path, "err", err)
	}
}

// storeFail answers a store error: 404 for ErrNotFound, 503 when the
// request was cancelled or timed out, 500 otherwise. The error goes to the
// log, not to the client.
func (s *Server) storeFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.fail(w, r, http.StatusNotFound, "not found")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		s.fail(w, r, http.StatusServiceUnavailable, "the store did not answer in time")
	default:
		s.log.Error("store read failed", "path", r.URL.Path, "err", err)
		s.fail(w, r, http.StatusInternalServerError, "the store failed to answer; see the server's log")
	}
}

// fail answers an error as JSON for the API, as a page otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if isAPI(r) || whoFrom(r.Context()).Token != "" || !strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	s.errorPage(w, r, code, msg)
}
