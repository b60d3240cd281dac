package email

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rateLimiter allows n events per window per key (a fixed window per key:
// simple, and enough to stop one address flooding the team).
type rateLimiter struct {
	n      int
	window time.Duration
	mu     sync.Mutex
	seen   map[string]*rateWindow
}

type rateWindow struct {
	start time.Time
	count int
}

// maxTracked bounds the table; past it, expired windows are swept.
const maxTracked = 10000

func newRateLimiter(n int, window time.Duration) *rateLimiter {
	if n <= 0 {
		n = 5
	}
	if window <= 0 {
		window = time.Hour
	}
	return &rateLimiter{n: n, window: window, seen: map[string]*rateWindow{}}
}

// allow counts an event for key at now; when over the limit it says how
// long until the window ends.
func (l *rateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) >= maxTracked {
		for k, w := range l.seen {
			if now.Sub(w.start) >= l.window {
				delete(l.seen, k)
			}
		}
		if len(l.seen) >= maxTracked {
			// Under a flood from many addresses, start over rather than
			// grow without bound; each address still gets only n per window.
			l.seen = map[string]*rateWindow{}
		}
	}
	w := l.seen[key]
	if w == nil || now.Sub(w.start) >= l.window {
		w = &rateWindow{start: now}
		l.seen[key] = w
	}
	if w.count >= l.n {
		return false, w.start.Add(l.window).Sub(now)
	}
	w.count++
	return true, 0
}

// clientIP is the address a request came from: the connection's peer, or,
// when the peer is a trusted proxy, the last untrusted address in
// X-Forwarded-For. IPv6 clients count by /64, which one host typically
// has whole.
func clientIP(r *http.Request, trusted []*net.IPNet) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip != nil && isTrusted(ip, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop := net.ParseIP(strings.TrimSpace(hops[i]))
			if hop == nil {
				break
			}
			ip = hop
			if !isTrusted(hop, trusted) {
				break
			}
		}
	}
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

func isTrusted(ip net.IP, trusted []*net.IPNet) bool {
	for _, n := range trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseNetworks reads IPs and CIDR blocks (config: [server] trusted_proxies).
func ParseNetworks(list []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range list {
		if !strings.Contains(s, "/") {
			if ip := net.ParseIP(s); ip != nil {
				bits := 128
				if ip.To4() != nil {
					bits = 32
				}
				s = ip.String() + "/" + strconv.Itoa(bits)
			}
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
