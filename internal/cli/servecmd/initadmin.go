package servecmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/outfile"
	"github.com/outflow-dev/outflow/internal/web"
	"github.com/outflow-dev/outflow/internal/web/auth"
)

// initAdmin adds the first admin to the configuration file: the
// password is read from the terminal (twice) or stdin, never the command
// line, and only its hash is written. The file is created (mode 0600)
// when missing; an existing one keeps its comments and mode. It refuses
// when the file already has an admin: there is no default password, and
// further users are added with hash-password and an editor.
func initAdmin(env *cli.Env, path, name string) error {
	if path == "" {
		return errors.New("--init-admin needs --config FILE: the user is written there")
	}
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\r\n:") {
		return errors.New("--init-admin: the name must be 1 to 64 characters without spaces or colons")
	}
	src, err := os.ReadFile(path)
	exists := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if exists {
		c, err := web.LoadConfig(path)
		if err != nil {
			return err
		}
		for _, u := range c.Auth.Users {
			if u.Role == auth.Admin {
				return fmt.Errorf("%s already has an admin (%s): --init-admin only creates the first", path, u.Name)
			}
			if u.Name == name {
				return fmt.Errorf("%s already has a user %s", path, name)
			}
		}
	}
	pw, err := readPassword(env)
	if err != nil {
		return err
	}
	if len(pw) < 8 {
		return errors.New("use a password of at least 8 characters")
	}
	h, err := auth.HashPassword(pw, auth.DefaultArgon2)
	if err != nil {
		return err
	}
	out, err := addUser(src, auth.User{Name: name, PasswordHash: h, Role: auth.Admin})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := web.ParseConfig(path, out); err != nil {
		return err
	}
	if !exists {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Write(out); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return outfile.Write(path, func(w io.Writer) error { _, err := w.Write(out); return err })
}

// addUser appends u to auth.users of the YAML configuration src, making
// the sections it lacks.
func addUser(src []byte, u auth.User) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, errors.New("not a mapping")
	}
	authN := child(top, "auth", yaml.MappingNode)
	users := child(authN, "users", yaml.SequenceNode)
	if authN == nil || users == nil {
		return nil, errors.New("auth or auth.users is not what it should be")
	}
	users.Style = 0 // a block, also when it was written []
	var un yaml.Node
	if err := un.Encode(u); err != nil {
		return nil, err
	}
	users.Content = append(users.Content, &un)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	enc.Close()
	return b.Bytes(), nil
}

// child is the value of key in mapping m, added as an empty node of kind
// when missing; nil when it is there with another kind.
func child(m *yaml.Node, key string, kind yaml.Kind) *yaml.Node {
	if m == nil {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				*v = yaml.Node{Kind: kind}
			}
			if v.Kind != kind {
				return nil
			}
			return v
		}
	}
	v := &yaml.Node{Kind: kind}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	return v
}
