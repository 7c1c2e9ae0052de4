package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// listenAddr is one address the dev stack will listen on, with the flag that moves it.
type listenAddr struct{ what, flag, addr string }

// checkPorts refuses to start when an address is taken, naming what holds it,
// before anything starts: a second `make run` would otherwise stop at a bare
// bind error after the embedded NATS server had opened its store.
func checkPorts(addrs []listenAddr) error {
	for _, a := range addrs {
		if a.addr == "" {
			continue
		}
		l, err := net.Listen("tcp", a.addr)
		if err == nil {
			_ = l.Close()
			continue
		}
		return fmt.Errorf("%s address %s is taken%s: stop that program or move this one with %s",
			a.what, a.addr, holder(a.addr), a.flag)
	}
	return nil
}

// holder names the process listening on addr's port (" by pid N (command)"),
// or says nothing when Linux's /proc does not tell.
func holder(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return ""
	}
	inodes := listeningInodes(port)
	if len(inodes) == 0 {
		return ""
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		link, err := os.Readlink(fd)
		if err != nil || !inodes[link] {
			continue
		}
		pid := strings.Split(fd, "/")[2]
		cmd, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		name := strings.Join(strings.Fields(strings.ReplaceAll(string(cmd), "\x00", " ")), " ")
		if len(name) > 80 {
			name = name[:80] + "…"
		}
		return fmt.Sprintf(" by pid %s (%s)", pid, name)
	}
	return " by another user's process"
}

// listeningInodes reads /proc/net/tcp{,6} for sockets listening on port and
// returns them as the "socket:[inode]" links their owners' fds point at.
func listeningInodes(port int) map[string]bool {
	const listen = "0A"
	found := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != listen {
				continue
			}
			i := strings.LastIndexByte(fields[1], ':')
			if p, err := strconv.ParseUint(fields[1][i+1:], 16, 16); err == nil && int(p) == port {
				found["socket:["+fields[9]+"]"] = true
			}
		}
		_ = f.Close()
	}
	return found
}
