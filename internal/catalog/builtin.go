package catalog

import (
	"io/fs"
	"os"
	"time"

	builtin "github.com/outflow-dev/outflow/catalog"
)

// Builtin is the embedded catalog layer.
func Builtin() Layer { return Layer{Name: "catalog", FS: builtin.FS} }

// Dir is a user's catalog directory as a layer.
func Dir(path string) Layer { return Layer{Name: path, FS: os.DirFS(path)} }

// Open loads and compiles the built-in catalog with any user directories on
// top, resolving ownership at the given time (zero: now).
func Open(at time.Time, dirs ...string) (*Index, error) {
	layers := []Layer{Builtin()}
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil {
			return nil, err
		} else if !st.IsDir() {
			return nil, &fs.PathError{Op: "open", Path: d, Err: fs.ErrInvalid}
		}
		layers = append(layers, Dir(d))
	}
	raw, err := Load(layers...)
	if err != nil {
		return nil, err
	}
	return Compile(raw, Options{At: at})
}
