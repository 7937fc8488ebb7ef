package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// dict caches the writer's dictionary ids. Ids of committed rows never
// change; after a failed transaction the whole cache is dropped, since it
// may hold ids of rows that were rolled back.
type dict struct {
	sym  map[string]int64
	name map[string]int64
	dev  map[string]devEntry
	ent  map[string]int64
	rule map[string]int64   // rule key -> deadline (ms) last written
	ev   map[evKey]int64    // evidence -> last (ms) written
	evN  map[[2]int64]int   // device, entity -> evidence rows stored
	nday map[[2]int64]int64 // name, day -> hours written to name_day
	ndev map[[3]int64]bool  // name, day, device written to name_dev
	ndn  map[[2]int64]int   // name, day -> devices written
	size int
}

type devEntry struct {
	id  int64
	grp string
}

type evKey struct {
	dev, ent    int64
	kind, value string
}

// maxDict bounds the cached entries; past it the cache starts again.
const maxDict = 2 << 20

func newDict() *dict {
	return &dict{sym: map[string]int64{}, name: map[string]int64{}, dev: map[string]devEntry{},
		ent: map[string]int64{}, rule: map[string]int64{}, ev: map[evKey]int64{}, evN: map[[2]int64]int{}, nday: map[[2]int64]int64{}, ndev: map[[3]int64]bool{}, ndn: map[[2]int64]int{}}
}

func (c *dict) grow() {
	c.size++
	if c.size > maxDict {
		*c = *newDict()
	}
}

// stmt returns the writer's prepared statement for q, bound to tx. The
// writer has one connection, which the transaction holds: a statement
// not yet prepared is prepared on the transaction for now, and on the
// connection once the transaction ends (prepareLater).
func (w *wtx) stmt(q string) (*sql.Stmt, error) {
	if s := w.d.stmts[q]; s != nil {
		return w.tx.StmtContext(w.ctx, s), nil
	}
	if s := w.local[q]; s != nil {
		return s, nil
	}
	s, err := w.tx.PrepareContext(w.ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare %.60q: %w", q, err)
	}
	if w.local == nil {
		w.local = map[string]*sql.Stmt{}
	}
	w.local[q] = s
	return s, nil
}

// prepareLater prepares on the connection the statements the last
// transaction had to prepare on itself.
func (d *DB) prepareLater(ctx context.Context, w *wtx) {
	for q := range w.local {
		if s, err := d.w.PrepareContext(ctx, q); err == nil {
			d.stmts[q] = s
		}
	}
}

func (w *wtx) exec(q string, args ...any) (sql.Result, error) {
	s, err := w.stmt(q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(w.ctx, args...)
}

// lookup finds or inserts a dictionary string.
func (w *wtx) lookup(sel, ins string, args ...any) (int64, error) {
	s, err := w.stmt(sel)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.QueryRowContext(w.ctx, args[0]).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	res, err := w.exec(ins, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (w *wtx) sym(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if id, ok := w.d.dict.sym[s]; ok {
		return id, nil
	}
	id, err := w.lookup("SELECT id FROM sym WHERE s = ?", "INSERT INTO sym(s) VALUES (?)", s)
	if err != nil {
		return 0, fmt.Errorf("symbol %q: %w", s, err)
	}
	w.d.dict.sym[s] = id
	w.d.dict.grow()
	return id, nil
}

func (w *wtx) name(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if id, ok := w.d.dict.name[s]; ok {
		return id, nil
	}
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	if id, ok := w.d.dict.name[s]; ok {
		return id, nil
	}
	id, err := w.lookup("SELECT id FROM name WHERE name = ?", "INSERT INTO name(name, rname) VALUES (?, ?)", s, reverse(s))
	if err != nil {
		return 0, fmt.Errorf("name %q: %w", s, err)
	}
	w.d.dict.name[s] = id
	w.d.dict.grow()
	return id, nil
}

// dev finds or creates a device; a non-empty group different from the
// stored one replaces it (the latest group a device was seen in).
func (w *wtx) dev(key, grp string) (int64, error) {
	if key == "" {
		return 0, errors.New("no device")
	}
	e, ok := w.d.dict.dev[key]
	if !ok {
		s, err := w.stmt("SELECT id, grp FROM dev WHERE key = ?")
		if err != nil {
			return 0, err
		}
		err = s.QueryRowContext(w.ctx, key).Scan(&e.id, &e.grp)
		if errors.Is(err, sql.ErrNoRows) {
			res, err := w.exec("INSERT INTO dev(key, grp) VALUES (?, ?)", key, grp)
			if err != nil {
				return 0, fmt.Errorf("device %q: %w", key, err)
			}
			if e.id, err = res.LastInsertId(); err != nil {
				return 0, err
			}
			e.grp = grp
		} else if err != nil {
			return 0, fmt.Errorf("device %q: %w", key, err)
		}
		w.d.dict.dev[key] = e
		w.d.dict.grow()
	}
	if grp != "" && grp != e.grp {
		if _, err := w.exec("UPDATE dev SET grp = ? WHERE id = ?", grp, e.id); err != nil {
			return 0, fmt.Errorf("device %q: %w", key, err)
		}
		e.grp = grp
		w.d.dict.dev[key] = e
	}
	return e.id, nil
}

func (w *wtx) ent(key string) (int64, error) {
	if key == "" {
		return 0, nil
	}
	if id, ok := w.d.dict.ent[key]; ok {
		return id, nil
	}
	id, err := w.lookup("SELECT id FROM ent WHERE key = ?", "INSERT INTO ent(key) VALUES (?)", key)
	if err != nil {
		return 0, fmt.Errorf("entity %q: %w", key, err)
	}
	w.d.dict.ent[key] = id
	w.d.dict.grow()
	return id, nil
}

func reverse(s string) string {
	b := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		b[len(s)-1-i] = s[i]
	}
	return string(b)
}
