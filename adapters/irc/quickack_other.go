//go:build !linux

package irc

import "net"

// quickACK is Linux only; elsewhere delayed ACKs stay as the system has them.
func quickACK(*net.TCPConn) {}
