// systemd's notification protocol (sd_notify(3)), for both runtimes: "READY=1", "STATUS=...",
// "WATCHDOG=1", "STOPPING=1" as one datagram each to the unix datagram socket $NOTIFY_SOCKET (a path,
// or "@name" in the abstract namespace), through the runtime's libc. Without $NOTIFY_SOCKET (not
// started by systemd with Type=notify) there is no service manager and nothing is sent.

/** The libc calls a notification needs (koffi on Node, Deno.dlopen on Deno). */
export interface UnixDatagramCalls {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, addrlen: number): number;
  close(fd: number): number;
}

export interface ServiceManager {
  /** Sends newline-separated assignments, like "READY=1\nSTATUS=joined". Failures are ignored (sd_notify's too). */
  notify(state: string): void;
  /** How often systemd wants WATCHDOG=1 (WatchdogSec=), ms, or null without a watchdog. */
  readonly watchdogMs: number | null;
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
/** sizeof(sockaddr_un.sun_path). */
const SUN_PATH_MAX = 108;

/** The service manager of $NOTIFY_SOCKET, or null when there is none or the variables are unusable. */
export function serviceManagerFrom(env: (name: string) => string | undefined, pid: number, libc: UnixDatagramCalls): ServiceManager | null {
  const path = env("NOTIFY_SOCKET");
  const address = path ? sockaddrUn(path) : null;
  if (address === null) return null;
  return {
    notify(state) {
      const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return;
      const message = new TextEncoder().encode(state);
      libc.sendto(fd, message, message.length, MSG_NOSIGNAL, address, address.length);
      libc.close(fd);
    },
    watchdogMs: watchdogMs(env, pid),
  };
}

/** sd_watchdog_enabled(3): WATCHDOG_USEC, when WATCHDOG_PID is unset or this process. */
function watchdogMs(env: (name: string) => string | undefined, pid: number): number | null {
  const usec = Number(env("WATCHDOG_USEC"));
  const forPid = env("WATCHDOG_PID");
  if (!Number.isInteger(usec) || usec <= 0) return null;
  if (forPid !== undefined && forPid !== "" && Number(forPid) !== pid) return null;
  return usec / 1000;
}

/** sockaddr_un for a path, or "@name" (the abstract namespace: a leading NUL, no terminating one). */
export function sockaddrUn(path: string): Uint8Array | null {
  if (!path.startsWith("/") && !path.startsWith("@")) return null;
  const name = new TextEncoder().encode(path);
  if (name.length >= SUN_PATH_MAX) return null;
  const abstract = path.startsWith("@");
  const address = new Uint8Array(2 + name.length + (abstract ? 0 : 1));
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(name, 2);
  if (abstract) address[2] = 0;
  return address;
}

/** WATCHDOG=1 at half the interval systemd asked for (sd_watchdog_enabled(3) advises so), from the node's own timers. */
export function startWatchdog(service: ServiceManager | null, timers: { set(cb: () => void, ms: number): unknown; clear(h: unknown): void }): () => void {
  const interval = service?.watchdogMs;
  if (!service || !interval) return () => {};
  let timer: unknown = null;
  const ping = () => {
    service.notify("WATCHDOG=1");
    timer = timers.set(ping, interval / 2);
  };
  ping();
  return () => timers.clear(timer);
}
