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
//
// With no directories it opens the compiled catalog embedded beside the
// text files (compiled.go), which costs a fraction of parsing them; with
// directories, or should the compiled form not be readable by this binary,
// it parses the text files.
func Open(at time.Time, dirs ...string) (*Index, error) {
	if len(dirs) == 0 {
		if at.IsZero() {
			at = time.Now()
		}
		if ix, err := openCompiled(builtin.Compiled, at); err == nil {
			return ix, nil
		}
	}
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
