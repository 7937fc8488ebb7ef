package apksig

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/outflow-dev/outflow/internal/sharedtest"
)

func sharedDir(tb testing.TB) string {
	tb.Helper()
	return sharedtest.Path(tb, "apk")
}

// zipFS reads entries with archive/zip (the apk package is not imported:
// apksig stands alone).
type zipFS struct{ r *zip.Reader }

func (z zipFS) Names() []string {
	var out []string
	for _, f := range z.r.File {
		out = append(out, f.Name)
	}
	return out
}

func (z zipFS) ReadFile(name string) ([]byte, error) {
	f, err := z.r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

type oracleRun struct {
	Verifies     bool   `json:"verifies"`
	V1           bool   `json:"v1"`
	V2           bool   `json:"v2"`
	V3           bool   `json:"v3"`
	SignerSHA256 string `json:"signer_sha256"`
	SignerDN     string `json:"signer_dn"`
}

// TestCorpus compares our signer certificates with apksigner's.
func TestCorpus(t *testing.T) {
	sharedDir(t)
	raw, err := os.ReadFile(filepath.Join("testdata", "apksigner_oracle.json"))
	if err != nil {
		t.Fatal(err)
	}
	var oracle map[string]map[string]oracleRun
	if err := json.Unmarshal(raw, &oracle); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(oracle))
	for n := range oracle {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		runs := oracle[name]
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(sharedtest.Path(t, "apk", "samples", name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			zr, err := zip.NewReader(f, st.Size())
			if err != nil {
				t.Fatal(err)
			}
			v1, err := V1(zipFS{zr})
			if err != nil {
				t.Fatal(err)
			}
			def, v2only := runs["default"], runs["min_sdk_24"]
			if def.Verifies && def.V1 {
				if len(v1) != 1 || v1[0].Err != nil || len(v1[0].Signers) != 1 {
					t.Fatalf("v1 = %+v", v1)
				}
				if got := v1[0].Signers[0].SHA256; got != def.SignerSHA256 {
					t.Errorf("v1 signer sha256 %s, apksigner %s", got, def.SignerSHA256)
				}
			} else if len(v1) != 0 {
				t.Errorf("apksigner found no v1 signature, we found %d blocks", len(v1))
			}
			sb, err := FindSigningBlock(f, st.Size())
			switch {
			case v2only.Verifies && (v2only.V2 || v2only.V3):
				if err != nil {
					t.Fatal(err)
				}
				signers := sb.V2
				if v2only.V3 {
					signers = sb.V3
				}
				if len(signers) != 1 || signers[0].Certificates[0].SHA256 != v2only.SignerSHA256 {
					t.Errorf("v2/v3 signers %+v, apksigner %s", signers, v2only.SignerSHA256)
				}
				if len(sb.Errs) != 0 {
					t.Errorf("errs: %v", sb.Errs)
				}
			case errors.Is(err, ErrNoSigningBlock):
			default:
				t.Errorf("apksigner saw no v2/v3 signature; FindSigningBlock = %+v, %v", sb, err)
			}
		})
	}
}

func FuzzPKCS7(f *testing.F) {
	c := selfSigned(f, "seed", 1)
	der := pkcs7(f, c, c)
	f.Add(der)
	f.Add(toBER(f, der))
	for _, n := range []string{"androguard_Invalid.apk", "mob_ShareSDK-Sample-2.6.3.apk"} {
		p, ok := sharedtest.Optional(f, "apk", "samples", n)
		if !ok {
			continue
		}
		zr, err := zip.OpenReader(p)
		if err != nil {
			f.Fatal(err)
		}
		if b, err := (zipFS{&zr.Reader}).ReadFile("META-INF/CERT.RSA"); err == nil {
			f.Add(b)
		}
		zr.Close()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePKCS7(data)
		if err != nil {
			return
		}
		if len(p.Certificates) == 0 {
			t.Fatal("no certificates without error")
		}
	})
}

func FuzzSigningBlock(f *testing.F) {
	f.Add(withSigningBlock(f, map[uint32][]byte{IDv2: v2Signer(selfSigned(f, "a", 1)), IDWalleChannel: []byte("{}")}, []uint32{IDv2, IDWalleChannel}))
	f.Add(withSigningBlock(f, map[uint32][]byte{IDv3: v3Signer(28, 33, selfSigned(f, "b", 2))}, []uint32{IDv3}))
	f.Fuzz(func(t *testing.T, data []byte) {
		FindSigningBlock(bytesReaderAt(data), int64(len(data)))
	})
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
