// The libc calls a TAP and the underlay socket need, through Deno's FFI (--allow-ffi). Opened per
// thread: the main thread writes frames, the reader worker reads them, on the same fd. Opened on first
// use, so the commands that never run a node (status, members, macs, version) need no FFI permission.

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  access: { parameters: ["buffer", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  /** ioctl with an integer argument (TUNSETOFFLOAD). */
  ioctlInt: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  /** poll(2) on a thread of Deno's pool: the main thread awaits the socket without blocking. */
  pollAsync: { name: "poll", parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  close: { parameters: ["i32"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  umask: { parameters: ["u32"], result: "u32" },
  /** systemd's notification socket (host/linux/sd-notify.ts). */
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

let opened: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | null = null;

export function libc(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  opened ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return opened;
}

export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** A NUL-terminated C string. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text + "\0");
}

export const O_RDONLY = 0;
export const F_OK = 0;
export const W_OK = 2;
export const R_OK = 4;
