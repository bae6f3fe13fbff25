package main

import (
	"net"
	"syscall"
	"time"
)

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT (not in package
// syscall).
const ipBindAddressNoPort = 24

// newDialer dials from local (nil: the kernel's choice). With a source
// address, the port is left to connect: a plain bind must find a port no
// other socket holds, a linear search that cost chatbench more CPU than the
// whole server during a 10,000-client storm (every old connection sits in
// TIME_WAIT), while connect only needs the 4-tuple to be unused.
func newDialer(local *net.TCPAddr, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if local == nil {
		return d
	}
	d.LocalAddr = local
	d.Control = func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}
	return d
}
