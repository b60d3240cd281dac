package mattermost

import (
	"net"
	"syscall"
)

// The server turns Nagle's algorithm on for its websockets (web_conn.go:
// "Disable TCP_NO_DELAY for higher throughput"), so a small reply that
// follows a small event waits until the client has acknowledged the
// event, and Linux delays that acknowledgement up to 40 ms: a ping's reply
// took 40 ms instead of 0.3 whenever an event had just been sent.
// Acknowledging at once after each read removes the wait. TCP_QUICKACK is
// not sticky (the kernel may fall back to delayed ACKs), hence each read.

// quickAck wraps a dialled websocket connection.
func quickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{TCPConn: tc, raw: raw}
}

type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return n, err
}
