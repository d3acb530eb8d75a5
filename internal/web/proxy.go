package web

import (
	"net"
	"net/http"
	"strings"
)

// publicOrigin is the scheme://host[:port] users reach the app at, for the absolute URLs the app
// builds for this request (the post-logout redirect URI).
//
// By default it is REDIRECT_URI's origin: configuration, not headers, decides where users are
// sent. Behind a reverse proxy listed in TRUSTED_PROXIES (the peer that connected to the app),
// the proxy's X-Forwarded-Proto and X-Forwarded-Host are believed instead; from anyone else they
// are ignored, since any client can send them. The sign-in redirect URI always comes from
// REDIRECT_URI: it must match the app registration exactly (AADSTS50011 otherwise).
func (a *App) publicOrigin(r *http.Request) string {
	if !trustedPeer(r.RemoteAddr, a.cfg.TrustedProxies) {
		return a.cfg.PublicOrigin()
	}
	proto := strings.ToLower(lastForwarded(r.Header, "X-Forwarded-Proto"))
	host := strings.ToLower(lastForwarded(r.Header, "X-Forwarded-Host"))
	if proto != "http" && proto != "https" || !validForwardedHost(host) {
		return a.cfg.PublicOrigin()
	}
	return proto + "://" + host
}

// trustedPeer reports whether the connection's peer address is in TRUSTED_PROXIES.
func trustedPeer(remoteAddr string, trusted []*net.IPNet) bool {
	if len(trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// lastForwarded returns the last value of a possibly repeated, comma-separated header: the one
// the trusted proxy itself added. Values further left came from whoever talked to that proxy,
// which may be the client.
func lastForwarded(h http.Header, name string) string {
	vals := h.Values(name)
	if len(vals) == 0 {
		return ""
	}
	last := vals[len(vals)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.TrimSpace(last)
}

// validForwardedHost accepts host or host:port with a DNS name, an IPv4 address or a bracketed
// IPv6 address, and nothing that could change the meaning of the URL built from it (no "/",
// "@", "?", "#", "\", spaces or control characters).
func validForwardedHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	host, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		host, port = h[1:end], strings.TrimPrefix(h[end+1:], ":")
		if h[end+1:] != "" && !strings.HasPrefix(h[end+1:], ":") {
			return false
		}
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return false
		}
	} else {
		if i := strings.LastIndexByte(h, ':'); i >= 0 {
			host, port = h[:i], h[i+1:]
			if port == "" {
				return false
			}
		}
		if host == "" {
			return false
		}
		for _, c := range host {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
				return false
			}
		}
	}
	if len(port) > 5 {
		return false
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
