// The few libc calls the TAP device needs, through koffi (loaded once per thread).
import koffi from "koffi";

const libc = koffi.load("libc.so.6");

export const open = libc.func("int open(const char *path, int flags)");
export const close = libc.func("int close(int fd)");
export const ioctl = libc.func("int ioctl(int fd, unsigned long request, void *arg)");
/** ioctl with an integer argument (TUNSETOFFLOAD). */
export const ioctlInt = libc.func("ioctl", "int", ["int", "unsigned long", "unsigned long"]);
export const read = libc.func("long read(int fd, void *buf, unsigned long count)");
export const write = libc.func("long write(int fd, const void *buf, unsigned long count)");
export const poll = libc.func("int poll(void *fds, unsigned long nfds, int timeout)");

export function errno(): number {
  return koffi.errno();
}

export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const EAGAIN = 11;
export const EINTR = 4;
export const EBUSY = 16;
export const EPERM = 1;
export const EACCES = 13;
export const ENOENT = 2;
export const POLLIN = 1;

export const TUNSETIFF = 0x400454ca;
export const TUNSETOFFLOAD = 0x400454d0;
export const IFF_TAP = 0x0002;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const IFNAMSIZ = 16;
