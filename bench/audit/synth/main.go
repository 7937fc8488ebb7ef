// Command synth writes a large synthetic Android app for the audit
// benchmark: many DEX files of realistic shape (tens of thousands of classes
// and strings each, SDKs of concern among them), a native library and stored
// assets up to a target size. Its output is deterministic for a seed.
//
// It uses the project's own writers (dextest.Build, apkbuild) and is not part of
// the outflow binary.
package main

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/outflow-dev/outflow/internal/appaudit/audit/apkbuild"
	"github.com/outflow-dev/outflow/internal/appaudit/dex/dextest"
)

func main() {
	out := flag.String("o", "synthetic.apk", "output file")
	ndex := flag.Int("dex", 32, "number of DEX files")
	classes := flag.Int("classes", 30000, "classes per DEX file (at most about 60000)")
	strs := flag.Int("strings", 60000, "string constants per DEX file")
	totalMB := flag.Int("size", 300, "target file size in MB (assets fill what the DEX files leave)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := run(*out, *ndex, *classes, *strs, int64(*totalMB)<<20, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "synth:", err)
		os.Exit(1)
	}
}

// sdkClasses are put into some DEX files, so that the audit has SDKs of
// concern to find (their package prefixes are in the built-in catalog).
var sdkClasses = []string{
	"Lcom/sina/weibo/sdk/cmd/WbAppActivator;",
	"Lcom/sina/weibo/sdk/cmd/AppInstallCmdExecutor;",
	"Lcom/tencent/bugly/crashreport/CrashReport;",
	"Lcom/umeng/analytics/MobclickAgent;",
	"Lcn/jpush/android/api/JPushInterface;",
	"Lcom/igexin/sdk/PushManager;",
}

var words = strings.Fields(`account action activity adapter analytics api app audio auth background banner
bitmap buffer cache camera channel client config connect content context crash data device download
drone event feed file flight frame gimbal handler image install job key layout location log manager map
media message network notify order packet page payment player push query record remote render report
request response route sdk session setting share socket status storage stream sync task token upload user
video view worker`)

func run(out string, ndex, classes, strs int, total int64, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &countWriter{w: bw}
	zw := zip.NewWriter(cw)

	m := apkbuild.Manifest{Package: "com.example.synthetic", VersionCode: 4036, VersionName: "4.3.36", MinSDK: 21, TargetSDK: 28,
		Label: "Synthetic", Application: "com.example.synthetic.App",
		Permissions: []string{"android.permission.INTERNET", "android.permission.READ_PHONE_STATE", "android.permission.ACCESS_FINE_LOCATION",
			"android.permission.CAMERA", "android.permission.RECORD_AUDIO", "android.permission.REQUEST_INSTALL_PACKAGES", "android.permission.RECEIVE_BOOT_COMPLETED"},
		Components: []apkbuild.Component{{Kind: "receiver", Name: "com.example.synthetic.Boot", Actions: []string{"android.intent.action.BOOT_COMPLETED"}}},
	}
	if err := add(zw, "AndroidManifest.xml", m.Binary(), zip.Deflate); err != nil {
		return err
	}
	var dexBytes int64
	for i := 1; i <= ndex; i++ {
		spec := dextest.Spec{}
		for c := range classes {
			mod := r.IntN(200)
			spec.Classes = append(spec.Classes, fmt.Sprintf("Lcom/example/synthetic/m%d/%s%s%d;", mod, title(words[r.IntN(len(words))]), title(words[r.IntN(len(words))]), c))
		}
		if i%4 == 1 {
			spec.Classes = append(spec.Classes, sdkClasses[(i/4)%len(sdkClasses)])
		}
		for s := range strs {
			switch s % 20 {
			case 0:
				spec.Strings = append(spec.Strings, fmt.Sprintf("https://api%d.example.com/v%d/%s/%s?id=%d", r.IntN(50), r.IntN(5), words[r.IntN(len(words))], words[r.IntN(len(words))], s))
			case 1:
				spec.Strings = append(spec.Strings, fmt.Sprintf("%x", r.Uint64()))
			default:
				n := 2 + r.IntN(6)
				var b strings.Builder
				for k := range n {
					if k > 0 {
						b.WriteByte(' ')
					}
					b.WriteString(words[r.IntN(len(words))])
				}
				fmt.Fprintf(&b, " %d", s)
				spec.Strings = append(spec.Strings, b.String())
			}
		}
		if i == 1 {
			spec.Strings = append(spec.Strings, "http://api.weibo.cn/2/client/common_config", "application/vnd.android.package-archive")
			spec.Methods = []dextest.MethodSpec{
				{Class: "Landroid/telephony/TelephonyManager;", Name: "getDeviceId", Proto: "()Ljava/lang/String;"},
				{Class: "Ldalvik/system/DexClassLoader;", Name: "<init>", Proto: "(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/ClassLoader;)V"},
			}
		}
		d, err := dextest.Build(spec)
		if err != nil {
			return fmt.Errorf("classes%d.dex: %w", i, err)
		}
		name := "classes.dex"
		if i > 1 {
			name = fmt.Sprintf("classes%d.dex", i)
		}
		if err := add(zw, name, d, zip.Deflate); err != nil {
			return err
		}
		dexBytes += int64(len(d))
		fmt.Fprintf(os.Stderr, "\r%s: %d MB of DEX, %d MB written", name, dexBytes>>20, cw.n>>20)
	}
	fmt.Fprintln(os.Stderr)
	// A native library: a valid ELF header and random code bytes, stored.
	lib := make([]byte, 24<<20)
	fill(r, lib)
	copy(lib, elfHeader())
	if err := add(zw, "lib/arm64-v8a/libgame.so", lib, zip.Store); err != nil {
		return err
	}
	// Assets up to the target size: stored random data, as games ship
	// compressed textures and media.
	for k := 0; cw.n < total-(1<<20); k++ {
		n := min(int64(32<<20), total-cw.n-(512<<10))
		buf := make([]byte, n)
		fill(r, buf)
		if err := add(zw, fmt.Sprintf("assets/pack%02d.pak", k), buf, zip.Store); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: %d bytes, %d DEX files (%d MB of DEX)\n", out, cw.n, ndex, dexBytes>>20)
	return nil
}

func add(zw *zip.Writer, name string, data []byte, method uint16) error {
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

func fill(r *rand.Rand, b []byte) {
	for i := 0; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
}

// elfHeader is a 64-bit little-endian AArch64 shared object header with no
// program or section headers.
func elfHeader() []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1                 // 64-bit, little endian, version
	binary.LittleEndian.PutUint16(h[16:], 3)   // ET_DYN
	binary.LittleEndian.PutUint16(h[18:], 183) // EM_AARCH64
	binary.LittleEndian.PutUint32(h[20:], 1)   // version
	binary.LittleEndian.PutUint16(h[52:], 64)  // ehsize
	binary.LittleEndian.PutUint16(h[54:], 56)  // phentsize
	binary.LittleEndian.PutUint16(h[58:], 64)  // shentsize
	return h
}

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

type countWriter struct {
	w interface{ Write([]byte) (int, error) }
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
