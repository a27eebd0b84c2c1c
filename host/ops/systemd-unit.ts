// The systemd unit of one node (`divs service install`, docs/service.md): Type=notify (READY=1 once
// joined, host/linux/sd-notify.ts), a watchdog, restarts on failure, CAP_NET_ADMIN instead of root,
// the state directory of docs/state.md, the options and the network key as credentials.

/** How the unit runs the node: a dynamic user with the capability, or uid 0 limited to it. */
export type ServiceUser = "dynamic" | "root";

export interface UnitOptions {
  tap: string;
  /** The program and its arguments before `up`: the node binary and the bundle. */
  command: string[];
  /** The options file and the key file, read by systemd and handed over as credentials. */
  configFile: string;
  keyFile: string;
  user: ServiceUser;
  /** Where the docs are, for Documentation=. */
  docs: string;
  version: string;
}

/** systemd asks for WATCHDOG=1 within this; the node sends it at half (from its data-plane loop). */
export const WATCHDOG_SEC = 30;

export function unitName(tap: string): string {
  return `divs-${tap}.service`;
}

/** The unit file's text. */
export function systemdUnit(o: UnitOptions): string {
  const exec = [...o.command, "up", "--tap", o.tap].map(quoteArg).join(" ");
  const user = o.user === "dynamic"
    // One dynamic user for every divs unit: they share /run/divs.
    ? ["DynamicUser=yes", "User=divs"]
    // uid 0 (it may open a /dev/net/tun only root can) with no capability but CAP_NET_ADMIN.
    : ["User=root"];
  return [
    `# Written by divs service install --tap ${o.tap} (divs ${o.version}); docs/service.md.`,
    "[Unit]",
    `Description=DiVS switch node on ${o.tap}`,
    `Documentation=file://${o.docs}/service.md`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=notify",
    "NotifyAccess=main",
    // READY=1 comes once the node has joined, which waits for a seed as long as it takes.
    "TimeoutStartSec=infinity",
    `WatchdogSec=${WATCHDOG_SEC}s`,
    "Restart=on-failure",
    "RestartSec=5s",
    `ExecStart=${exec}`,
    `LoadCredential=options.json:${o.configFile}`,
    `LoadCredential=key:${o.keyFile}`,
    "Environment=DIVS_CONFIG_FILE=%d/options.json DIVS_KEY_FILE=%d/key",
    ...user,
    "AmbientCapabilities=CAP_NET_ADMIN",
    "CapabilityBoundingSet=CAP_NET_ADMIN",
    "NoNewPrivileges=yes",
    // The control socket (/run/divs/<tap>.sock), shared by every divs unit: kept when one stops.
    "RuntimeDirectory=divs",
    "RuntimeDirectoryPreserve=yes",
    `StateDirectory=divs/${o.tap}`,
    "StateDirectoryMode=0700",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** An ExecStart= word: quoted when it holds a space, a quote, a backslash or a specifier's %. */
function quoteArg(word: string): string {
  const escaped = word.replaceAll("%", "%%");
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replaceAll("\\", "\\\\").replaceAll("\"", "\\\"")}"`;
}
