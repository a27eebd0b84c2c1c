// The few libc calls a TAP needs, through Deno's FFI (--allow-ffi). Opened per thread: the main
// thread writes frames, the reader worker reads them, on the same fd. Opened on first use, so the
// commands that never touch a TAP (status, members, macs, version) need no FFI permission.

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  access: { parameters: ["buffer", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  /** ioctl with an integer argument (TUNSETOFFLOAD). */
  ioctlInt: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
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

export const F_OK = 0;
