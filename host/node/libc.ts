// The libc calls the node makes through koffi: the TAP device, the underlay UDP socket, poll(2) over
// both and libuv's epoll fd (from the node binary itself, which exports libuv for addons), systemd's
// notification socket, and the execve(2) that makes `divs up --runtime deno` a deno process.
import { koffi } from "./koffi.ts";

const libc = koffi.load("libc.so.6");

export const open = libc.func("int open(const char *path, int flags)");
export const close = libc.func("int close(int fd)");
export const ioctl = libc.func("int ioctl(int fd, unsigned long request, void *arg)");
/** ioctl with an integer argument (TUNSETOFFLOAD). */
export const ioctlInt = libc.func("ioctl", "int", ["int", "unsigned long", "unsigned long"]);
export const socket = libc.func("int socket(int domain, int type, int protocol)");
export const sendto = libc.func("long sendto(int fd, const void *buf, unsigned long len, int flags, const void *addr, unsigned int addrlen)");
export const bind = libc.func("int bind(int fd, const void *addr, unsigned int addrlen)");
export const setsockopt = libc.func("int setsockopt(int fd, int level, int name, const void *value, unsigned int len)");
export const getsockopt = libc.func("int getsockopt(int fd, int level, int name, void *value, void *len)");
// The packet path's calls take their buffers as native addresses (`address`, `Pointers`): koffi converts a number
// faster than it checks and unwraps a typed array, ~7 us less a call as the first after an idle gap
// (~0.3 us warm; docs/performance.md "A ping, system call by system call"). The TAP, the socket and
// poll(2) over them.
export const readAt = libc.func("long read(int fd, intptr_t buf, unsigned long count)");
export const writeAt = libc.func("long write(int fd, intptr_t buf, unsigned long count)");
export const pollAt = libc.func("int poll(intptr_t fds, unsigned long nfds, int timeout)");
export const sendmmsgAt = libc.func("int sendmmsg(int fd, intptr_t msgvec, unsigned int vlen, int flags)");
export const recvmmsgAt = libc.func("int recvmmsg(int fd, intptr_t msgvec, unsigned int vlen, int flags, void *timeout)");
/** fcntl(2); the third argument is given with its type (koffi's variadic call): fcntl(fd, cmd, "int", value). */
export const fcntl = libc.func("int fcntl(int fd, int cmd, ...)");
/** execve(2): argv and envp are arrays of strings ending with null. Returns only on failure. */
export const execve = libc.func("int execve(const char *path, const char **argv, const char **envp)");
const self = koffi.load(null);
const uvDefaultLoop = self.func("void *uv_default_loop()");
const uvBackendFd = self.func("int uv_backend_fd(void *loop)");
/** libuv's epoll fd: readable when the main thread's event loop has I/O (or a signal) to handle. */
export const libuvBackendFd = (): number => uvBackendFd(uvDefaultLoop());
/** The native address of a view's first byte (the batch socket builds pointers into one buffer). */
export const address = (view: Uint8Array): number => Number(koffi.address(view));

/**
 * Native addresses of views into one long-lived buffer at a time (a read buffer, core memory, a
 * message vector): its base address is asked of koffi once, again only when the views' buffer changes
 * (core memory grew). V8 never moves a buffer's bytes, and the cache holds the buffer while in use.
 */
export class Pointers {
  private buffer: ArrayBufferLike | null = null;
  private base = 0;

  of(view: Uint8Array): number {
    if (view.buffer !== this.buffer) {
      this.buffer = view.buffer;
      this.base = address(new Uint8Array(view.buffer));
    }
    return this.base + view.byteOffset;
  }
}

export function errno(): number {
  return koffi.errno();
}
