package control

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os/user"
	"slices"
	"strconv"
	"syscall"
)

// Peer is who is on the other end of a connection, as the kernel says.
type Peer struct {
	PID      int32
	UID, GID uint32
}

// Allow decides whether a peer may use the socket.
type Allow struct {
	UID   int // the daemon's user
	Group int // a group whose members may use it; -1 for none
	// groupsOf returns a user's groups (os/user by default; tests set it).
	groupsOf func(uid uint32) ([]int, error)
}

// NewAllow admits the daemon's user, root, and members of group (-1: none).
func NewAllow(uid, group int) Allow { return Allow{UID: uid, Group: group} }

// Permits reports whether p may use the socket: the daemon's user, root,
// or a member of the group (as primary or supplementary group).
func (a Allow) Permits(p Peer) bool {
	if p.UID == 0 || int(p.UID) == a.UID {
		return true
	}
	if a.Group < 0 {
		return false
	}
	if int(p.GID) == a.Group {
		return true
	}
	groupsOf := a.groupsOf
	if groupsOf == nil {
		groupsOf = userGroups
	}
	groups, err := groupsOf(p.UID)
	return err == nil && slices.Contains(groups, a.Group)
}

func userGroups(uid uint32) ([]int, error) {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return nil, err
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, err
	}
	var out []int
	for _, id := range ids {
		if n, err := strconv.Atoi(id); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

type peerKey struct{}

// withPeer reads the connection's peer credentials once, when it is
// accepted, for checkPeer.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	p, err := peerOf(c)
	if err != nil {
		return context.WithValue(ctx, peerKey{}, err)
	}
	return context.WithValue(ctx, peerKey{}, p)
}

// peerOf asks the kernel who holds the other end of a Unix socket.
func peerOf(c net.Conn) (Peer, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{}, errors.New("not a Unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return Peer{}, err
	}
	if credErr != nil {
		return Peer{}, credErr
	}
	return Peer{PID: cred.Pid, UID: cred.Uid, GID: cred.Gid}, nil
}

// checkPeer refuses requests from peers the socket does not serve. The
// file mode already keeps others out; this holds even if the mode or the
// directory's permissions are wrong.
func (s *Server) checkPeer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := r.Context().Value(peerKey{}).(Peer)
		if !ok || !s.allow.Permits(p) {
			s.log.Warn("refused a control socket client", "uid", p.UID, "gid", p.GID, "pid", p.PID)
			http.Error(w, "not allowed: run this as the sectriage service's user, root, or a member of [control] group", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
