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
