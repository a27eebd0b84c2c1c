// Errors users can cause, each with a one-line message and a documented exit code (docs/host.md).

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2, // bad flag, bad CIDR, bad token, bad config file, bad or missing network key
  notRoot: 3, // no CAP_NET_ADMIN (not root, nor given the capability), or /dev/net/tun not openable
  noTun: 4,
  portInUse: 5,
  notRunning: 6, // no node answers on the control socket
} as const;

export const EXIT_CODE_HELP =
  "Exit codes: 0 ok, 1 unexpected failure, 2 bad arguments (flag, CIDR, token, config, network key), 3 no CAP_NET_ADMIN (not root), " +
  "4 no /dev/net/tun, 5 UDP port in use, 6 no node running on the control socket.";

export class DivsError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

export function usageError(message: string): DivsError {
  return new DivsError(message, ExitCode.usage);
}
