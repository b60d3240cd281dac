package irc

import (
	"net"
	"syscall"
)

// quickACK sets TCP_QUICKACK, which Linux clears again by itself, so it is
// set after every read.
func quickACK(c *net.TCPConn) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
