package httphost

import "bytes"

// dnsPaths are the last path segments of the HTTP-DNS APIs apps call
// instead of DNS: Alibaba Cloud's /{account}/d and /{account}/sign_d,
// Tencent Cloud's /d, Baidu's /v3/resolve, Volcano Engine's and AliDNS's
// /resolve (and Google's JSON API, which has the same shape).
var dnsPaths = [...]string{"d", "sign_d", "resolve"}

// dnsParams are the query parameters those APIs take the name in.
var dnsParams = [...]string{"host", "dn", "name", "domain"}

// DNSQuery recognises the request-target of an HTTP-DNS query, such as
// "/100000/sign_d?host=appmarket.micloud.xiaomi.net&t=...": a path whose
// last segment is d, sign_d or resolve, and a host, dn, name or domain
// parameter holding a DNS name (the first, when it lists several). It
// returns that segment, the parameter and the name, all aliasing target,
// and allocates nothing. A name that is not a DNS name (Tencent's
// encrypted dn, a search word) does not match: the target alone does not
// make a request a DNS query.
func DNSQuery(target []byte) (segment, param, name []byte, ok bool) {
	if _, isAbs := absoluteAuthority(target); isAbs {
		// skip scheme and authority: what follows is the path
		rest := target[bytes.Index(target, []byte("://"))+3:]
		if i := bytes.IndexAny(rest, "/?#"); i >= 0 {
			rest = rest[i:]
		} else {
			rest = nil
		}
		target = rest
	}
	q := bytes.IndexByte(target, '?')
	if q < 0 {
		return nil, nil, nil, false
	}
	path, query := target[:q], target[q+1:]
	if i := bytes.IndexByte(query, '#'); i >= 0 {
		query = query[:i]
	}
	seg := path
	if i := bytes.LastIndexByte(path, '/'); i >= 0 {
		seg = path[i+1:]
	}
	known := false
	for _, p := range dnsPaths {
		if string(seg) == p {
			known = true
			break
		}
	}
	if !known {
		return nil, nil, nil, false
	}
	for len(query) > 0 {
		kv := query
		if i := bytes.IndexByte(query, '&'); i >= 0 {
			kv, query = query[:i], query[i+1:]
		} else {
			query = nil
		}
		eq := bytes.IndexByte(kv, '=')
		if eq <= 0 {
			continue
		}
		k, v := kv[:eq], kv[eq+1:]
		for _, p := range dnsParams {
			if string(k) != p {
				continue
			}
			// a batch query lists names separated by commas (%2C escaped)
			if i := bytes.IndexByte(v, ','); i >= 0 {
				v = v[:i]
			}
			if i := bytes.Index(v, []byte("%2C")); i >= 0 {
				v = v[:i]
			}
			if i := bytes.Index(v, []byte("%2c")); i >= 0 {
				v = v[:i]
			}
			if dnsName(v) {
				return seg, k, v, true
			}
		}
	}
	return nil, nil, nil, false
}

// dnsName accepts letters, digits, hyphens, underscores and dots in
// labels of 1 to 63 bytes, at least two labels, at most 253 bytes, and a
// last label that is not all digits (an address is not a name asked).
func dnsName(v []byte) bool {
	if len(v) > 0 && v[len(v)-1] == '.' {
		v = v[:len(v)-1]
	}
	if len(v) == 0 || len(v) > 253 {
		return false
	}
	labels, n, digits := 0, 0, true
	for i, c := range v {
		switch {
		case c == '.':
			if n == 0 {
				return false
			}
			labels++
			n, digits = 0, true
			continue
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
			digits = false
		default:
			return false
		}
		n++
		if n > 63 {
			return false
		}
		if i == len(v)-1 {
			labels++
		}
	}
	return n > 0 && labels >= 2 && !digits
}

// DNSRequest is the request reduced to what the flow record keeps of an
// HTTP-DNS query (flowrec.Flow.HTTPDNS): "GET /sign_d?host=NAME", without
// the account ids and signatures of the full target; ok is false when the
// target is not an HTTP-DNS query.
func DNSRequest(method string, target []byte) (req string, ok bool) {
	seg, param, name, ok := DNSQuery(target)
	if !ok {
		return "", false
	}
	return method + " /" + string(seg) + "?" + string(param) + "=" + string(name), true
}
