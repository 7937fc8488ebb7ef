package extract

import (
	"errors"
	"strings"
	"time"

	"github.com/outflow-dev/outflow/internal/appaudit/apk"
	"github.com/outflow-dev/outflow/internal/appaudit/apksig"
)

// Signer is one signer certificate, with every scheme that names it.
type Signer struct {
	Schemes      []string  `json:"schemes"` // "v1", "v2", "v3", "v3.1"
	Subject      string    `json:"subject"`
	Issuer       string    `json:"issuer"`
	Organization string    `json:"organization,omitempty"`
	SHA256       string    `json:"sha256"`
	NotBefore    time.Time `json:"not_before"`
	NotAfter     time.Time `json:"not_after"`
}

func readSigners(app *App, a *apk.Archive) {
	add := func(scheme string, c *apksig.Certificate) {
		if c == nil {
			return
		}
		for i := range app.Signers {
			s := &app.Signers[i]
			if s.SHA256 == c.SHA256 {
				if !contains(s.Schemes, scheme) {
					s.Schemes = append(s.Schemes, scheme)
				}
				return
			}
		}
		app.Signers = append(app.Signers, Signer{
			Schemes: []string{scheme}, Subject: c.Subject, Issuer: c.Issuer,
			Organization: organization(c), SHA256: c.SHA256,
			NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		})
	}
	v1, err := apksig.V1(a)
	if err != nil {
		app.Problems = append(app.Problems, Problem{Part: "signature", Err: err})
	}
	for _, s := range v1 {
		if s.Err != nil {
			app.Problems = append(app.Problems, Problem{Where: s.File, Part: "signature", Err: s.Err})
			continue
		}
		certs := s.Signers
		if len(certs) == 0 && len(s.Certificates) > 0 {
			certs = s.Certificates[:1]
		}
		for _, c := range certs {
			add("v1", c)
		}
	}
	ra, size := a.ReaderAt()
	blk, err := apksig.FindSigningBlock(ra, size)
	switch {
	case errors.Is(err, apksig.ErrNoSigningBlock):
	case err != nil:
		app.Problems = append(app.Problems, Problem{Where: "APK Signing Block", Part: "signature", Err: err})
	default:
		for _, set := range []struct {
			name string
			s    []apksig.Signer
		}{{"v2", blk.V2}, {"v3", blk.V3}, {"v3.1", blk.V31}} {
			for _, s := range set.s {
				if len(s.Certificates) > 0 {
					add(set.name, s.Certificates[0])
				}
			}
		}
		for _, e := range blk.Errs {
			app.Problems = append(app.Problems, Problem{Where: "APK Signing Block", Part: "signature", Err: e})
		}
	}
}

// organization returns the subject's O= value.
func organization(c *apksig.Certificate) string {
	if c.Cert != nil {
		if o := c.Cert.Subject.Organization; len(o) > 0 {
			return o[0]
		}
		return ""
	}
	return rdnValue(c.Subject, "O")
}

// rdnValue finds attr=value in an RFC 4514 string, honouring backslash
// escapes.
func rdnValue(dn, attr string) string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(dn); i++ {
		switch c := dn[i]; {
		case c == '\\' && i+1 < len(dn):
			cur.WriteByte(dn[i+1])
			i++
		case c == ',' || c == '+':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	for _, p := range parts {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), attr) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
