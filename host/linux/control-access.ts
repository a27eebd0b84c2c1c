// Who may use a node's control socket (docs/host.md "Control socket"): it can install keys and print
// join tokens, so only root and the node's own user. Three layers: the socket is created under umask
// 0177 (mode 0600 from birth, no window before a chmod), in a directory of mode 0700, and each
// connection's peer is checked with SO_PEERCRED before its request is acted on.
import { usageError } from "../base/errors.ts";

export const SOL_SOCKET = 1;
export const SO_PEERCRED = 17;
/** struct ucred { pid_t pid; uid_t uid; gid_t gid; } */
export const UCRED_LEN = 12;
const OFF_UID = 4;
/** The socket is created under this umask: rw for its owner only. */
export const CONTROL_UMASK = 0o177;
/** A directory the node creates for its socket. */
export const CONTROL_DIR_MODE = 0o700;

/** The uid in a struct ucred filled by getsockopt(SO_PEERCRED), little-endian as on every Linux DiVS runs on. */
export function peerUid(ucred: Uint8Array): number {
  return new DataView(ucred.buffer, ucred.byteOffset, UCRED_LEN).getUint32(OFF_UID, true);
}

/** Root, or the user the node runs as. */
export function peerAllowed(uid: number, ownUid: number): boolean {
  return uid === 0 || uid === ownUid;
}

/** The one-line answer a refused peer gets before the connection closes. */
export function refusal(uid: number): string {
  return JSON.stringify({ ok: false, error: `permission denied: uid ${uid} is neither root nor the node's user` }) + "\n";
}

/** The default socket directory (/run/divs) is the node's own: made 0700 even when an older version left it 0755. */
export function isDefaultControlDir(dir: string): boolean {
  return dir === "/run/divs";
}

/** A socket path a sockaddr_un can hold (108 bytes with its NUL). */
export function checkSocketPath(path: string): void {
  if (new TextEncoder().encode(path).length >= 108) throw usageError(`control socket path too long (at most 107 bytes): ${path}`);
}
