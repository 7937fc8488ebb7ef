package catalog

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/outflow-dev/outflow/internal/catalog/domainset"
)

// iso3166 holds every officially assigned ISO 3166-1 alpha-2 code.
const iso3166 = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"

// validCountry looks c up in iso3166 (sorted, three bytes a code): no map
// is built when the package starts.
func validCountry(c string) bool {
	if len(c) != 2 {
		return false
	}
	lo, hi := 0, (len(iso3166)+1)/3
	for lo < hi {
		m := (lo + hi) / 2
		switch code := iso3166[3*m : 3*m+2]; {
		case code == c:
			return true
		case code < c:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}

var (
	errEmpty   = errors.New("empty value")
	errPackage = errors.New("not a dotted Java package name")
)

// canonical validates a value of a kind and returns its indexed form.
func canonical(k AssetKind, v string) (string, error) {
	if v == "" {
		return "", errEmpty
	}
	switch k {
	case KindDomain:
		b, ok := domainset.Normalize(nil, v)
		if !ok || strings.ContainsAny(string(b), "*_") || !strings.Contains(string(b), ".") {
			return "", errors.New("not a domain name (a suffix like example.com, no wildcards)")
		}
		return string(b), nil
	case KindLabel:
		l := strings.ToLower(strings.TrimSuffix(v, "."))
		if b, ok := domainset.Normalize(nil, l); !ok || strings.Contains(string(b), ".") {
			return "", errors.New(`not a single label followed by a dot, like "weixin."`)
		}
		return l, nil
	case KindASN:
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(v), "AS"), 10, 32)
		if err != nil || n == 0 {
			return "", errors.New("not an AS number like AS11983")
		}
		return "AS" + strconv.FormatUint(n, 10), nil
	case KindPrefix:
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return "", err
		}
		if p.Masked() != p {
			return "", errors.New("host bits set; write " + p.Masked().String())
		}
		return p.String(), nil
	case KindCertOrg, KindProgram:
		return NormalizeOrg(v), nil
	case KindAndroidApp, KindIOSApp, KindSDK:
		if !validPackage(v) {
			return "", errPackage
		}
		return v, nil
	case KindProtocol:
		for _, c := range v {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", errors.New("not a protocol id (lower-case letters, digits and dashes, like tuya-lan)")
			}
		}
		if v == "" {
			return "", errors.New("empty protocol id")
		}
		return v, nil
	case KindOUI:
		val, bits, err := parseOUI(v)
		if err != nil {
			return "", err
		}
		return formatOUI(val, bits), nil
	}
	return "", errors.New("unknown kind (domain, domain-label, asn, prefix, cert-org, android-app, ios-app, sdk, oui, program, protocol)")
}

// NormalizeOrg folds case and spacing of an organisation name, so that
// certificate subjects and program publishers compare as people read them.
func NormalizeOrg(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

func validPackage(v string) bool {
	if v == "" || v[0] == '.' || v[len(v)-1] == '.' || strings.Contains(v, "..") {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '$') {
			return false
		}
	}
	return true
}

// parseOUI reads "34:D2:62", "34-D2-62", "70B3D5E" or "70:B3:D5:E/28"-style
// prefixes. The bit length is 24, 28 or 36, from an explicit /N or from the
// number of hex digits (6, 7 or 9).
func parseOUI(s string) (uint64, int, error) {
	bits := 0
	if i := strings.IndexByte(s, '/'); i >= 0 {
		n, err := strconv.Atoi(s[i+1:])
		if err != nil {
			return 0, 0, errors.New("bad prefix length")
		}
		bits, s = n, s[:i]
	}
	var v uint64
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c == ':' || c == '-' || c == '.':
			continue
		default:
			return 0, 0, errors.New("not hexadecimal")
		}
		v = v<<4 | uint64(d)
		digits++
		if digits > 12 {
			return 0, 0, errors.New("too long for a MAC prefix")
		}
	}
	if bits == 0 {
		bits = digits * 4
	}
	if bits != 24 && bits != 28 && bits != 36 {
		return 0, 0, errors.New("an OUI is 24 (MA-L), 28 (MA-M) or 36 (MA-S) bits")
	}
	if digits*4 < bits {
		return 0, 0, errors.New("fewer digits than the prefix length")
	}
	v >>= uint(digits*4 - bits)
	return v, bits, nil
}

func formatOUI(v uint64, bits int) string {
	hex := strconv.FormatUint(v, 16)
	for len(hex) < bits/4 {
		hex = "0" + hex
	}
	hex = strings.ToUpper(hex)
	var b strings.Builder
	for i := 0; i < len(hex); i++ {
		if i > 0 && i%2 == 0 {
			b.WriteByte(':')
		}
		b.WriteByte(hex[i])
	}
	if bits != 24 {
		b.WriteString("/" + strconv.Itoa(bits))
	}
	return b.String()
}
