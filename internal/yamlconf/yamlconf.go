// Package yamlconf decodes a component's YAML configuration strictly: an
// unknown key is an error that names the file, the line and the key, as
// every outflow configuration promises.
//
// It must never import another outflow package.
package yamlconf

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var unknownField = regexp.MustCompile(`field (\S+) not found in type .*$`)

// Decode decodes b, read from name, into v over the values v already holds
// (its defaults). An empty document leaves v as it is.
func Decode(name string, b []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for i, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		msgs[i] = name + ": " + unknownField.ReplaceAllString(m, `unknown key "$1"`)
	}
	return errors.New(strings.Join(msgs, "\n"))
}
