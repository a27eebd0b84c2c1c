// `divs up`: start a node on any runtime through the Platform, run until SIGINT/SIGTERM, tear down.
import { hexU64 } from "../base/node-id.ts";
import { type HostPort, formatHostPort, ADDR_LEN } from "../net/address.ts";
import { formatCidr } from "../net/cidr.ts";
import { CONFIG_KEYS, CORE_TAP_VNET_HDR, type CoreConfig, configName } from "../core/config.ts";
import { DHCP_KEYS, watchPoolMismatch } from "./dhcp.ts";
import { dhcpSaver, loadDhcpState } from "../state/dhcp-state.ts";
import { loadBans, saveBan } from "../secure/ban-file.ts";
import { SelfAddress, macBytes, selfLeaseMac } from "./self-address.ts";
import { answer, defaultControlPath, type NodeInfo } from "./control.ts";
import { Core } from "../core/core.ts";
import { Driver } from "./driver.ts";
import { CandidateWatch, guessAdvertise } from "../net/local-addresses.ts";
import { claimCrypto, Keyring, loadIdentity, SecureTransport } from "../secure/index.ts";
import { InviteBook, isInvitePacket } from "../secure/invite.ts";
import { issueInvitation, redeemInvitation } from "./invitations.ts";
import { DivsError, ExitCode } from "../base/errors.ts";
import { ETHERNET_HEADER, FRAME_DATAGRAM_HEADER, UNDERLAY_MTU, maxDatagramFor } from "../core/mtu.ts";
import type { NodeRuntime } from "./platform.ts";
import { startWatchdog } from "../linux/sd-notify.ts";
import { watchStartup } from "./startup.ts";
import type { UpOptions } from "./node-options.ts";

/** After IN_LEAVE the core keeps gossiping the leave: stay about 2 gossip intervals plus a round trip (docs/abi.md). */
const LEAVE_ROUND_TRIP_MS = 100;

/** Resolves with the exit code once the node has shut down. */
export async function runNode(platform: NodeRuntime, options: UpOptions): Promise<number> {
  platform.checkPrivileges();
  const core = await Core.load(await platform.loadCoreBytes());
  applyConfig(core, options);

  let driver: Driver | null = null;
  // Invitation datagrams never reach the session transport: a joiner's redeemer takes answers, the book requests.
  let redeeming: ((packet: Uint8Array) => void) | null = null;
  let invites: InviteBook | null = null;
  const inviteIn = (a: Uint8Array, o: number, d: Uint8Array) => {
    if (redeeming !== null) return redeeming(d);
    const addr = a.subarray(o, o + ADDR_LEN);
    const reply = invites?.incoming(addr, d, platform.clock.now());
    if (!reply) return;
    transport.send(addr, 0, reply);
    transport.flush();
  };
  // The socket comes before the driver: an invitation is redeemed over it for the network key that the
  // transport, and so the driver, are built with. Until the driver exists its datagrams are invitations'.
  const transport = await platform.bindUdp(options.listen, {
    datagram: (a, o, d) => (isInvitePacket(d) ? inviteIn(a, o, d) : driver?.datagramIn(a, o, d)),
    batchEnd: () => driver?.datagramBatchEnd(),
    sendTooBig: (a, o, length) => driver?.sendTooBig(a, o, length),
  });
  let key = options.key;
  if (options.invitation !== null) {
    try {
      key = await redeemInvitation(platform.crypto, platform.timers, transport, options.join, options.invitation, Date.now(), (h) => (redeeming = h));
    } catch (e) {
      transport.close();
      throw e;
    }
    platform.log.info("the invitation was accepted: joining with the network key it brought");
  }
  const keyring = new Keyring(platform.crypto, key!);
  key!.fill(0); // the keyring holds its own copy
  const advertise = options.advertise ?? advertiseFor(platform, options.listen, options.tap);
  // A DHCP server keeps its leases and ranges in the state directory (docs/state.md).
  const store = options.config.has(DHCP_KEYS.poolSize) ? platform.openStateDir(options.stateDir) : null;
  const leaseOwnAddress = options.address === "dhcp" && store !== null;
  const mac = leaseOwnAddress ? selfLeaseMac(store, options.mac, platform.random) : options.mac;
  let opened;
  try {
    opened = platform.openTap(options.tap, options.mtu, options.address === "dhcp" ? null : options.address, mac, options.offload);
  } catch (e) {
    transport.close();
    throw e;
  }
  let identity;
  let stateDir;
  try {
    stateDir = platform.openStateDir(options.stateDir);
    identity = loadIdentity(stateDir, platform.crypto);
  } catch (e) {
    opened.device.close();
    transport.close();
    throw e;
  }
  core.useClaims(claimCrypto(platform.crypto, identity));
  const secure = new SecureTransport(platform.crypto, keyring, identity, platform.clock.now(), {
    relayCapBytesPerSecond: (options.relayCapMbit * 1_000_000) / 8,
  });
  const book = (invites = new InviteBook(platform.crypto, () => keyring.primary.key, secure.counters));
  secure.sealInto((length) => transport.reserve(length));
  platform.progress?.step(`TAP ${options.tap} up${options.address === "dhcp" ? ", address by DHCP" : options.address ? `, ${formatCidr(options.address)}` : ""}, MTU ${options.mtu}`);
  core.configSet(CORE_TAP_VNET_HDR, opened.vnetHeader ? 1 : 0);
  driver = new Driver(core, { nodeId: identity.nodeId, name: options.name, advertise }, secure, platform);
  const d = driver;
  d.onEvent((e) => platform.log.info(`member ${e.type}: ${e.name}`, { member: e.name, id: e.id, address: e.address, incarnation: e.incarnation }));
  const saved = store ? loadDhcpState(store, Date.now(), (m) => platform.log.warn(m)) : null;
  if (saved) platform.log.info(`dhcp: restoring the state saved ${Math.round(saved.elapsedMs / 1000)} s ago in ${store!.dir}`);
  if (store) d.onDhcpSave(dhcpSaver(store, platform.log));
  // Members removed from the switch stay refused across restarts (docs/state.md "bans").
  const state = stateDir;
  d.onBan((nodeId) => {
    platform.log.info(`member removed from the switch: ${hexU64(nodeId, 0)} is refused from now on`, { id: hexU64(nodeId, 0) });
    try {
      saveBan(state, nodeId, new Date());
    } catch (e) {
      platform.log.warn(`${state.dir}: the ban of ${hexU64(nodeId, 0)} was not saved (${(e as Error).message}); it holds until this node stops`);
    }
  });
  d.start(opened.device, transport, options.join, saved, loadBans(state, (m) => platform.log.warn(m)));
  const tap = opened;
  const selfAddress = leaseOwnAddress
    ? new SelfAddress(platform, () => d.askSelfLease(macBytes(mac!)), (a) => {
      try {
        tap.setAddress(a);
      } catch (e) {
        platform.log.warn(`--address dhcp: ${(e as Error).message}`);
      }
    })
    : null;
  if (selfAddress) {
    d.onSelfAddress((ip, prefix, leaseS) => selfAddress.answer(ip, prefix, leaseS));
    selfAddress.start();
  }
  const candidates = new CandidateWatch(() => platform.interfaceAddresses(), options.listen, options.tap, platform.timers, (c) => d.setCandidates(c));
  candidates.start();

  const info: NodeInfo = {
    tap: options.tap,
    mtu: options.mtu,
    get address() {
      return selfAddress?.describe() ?? (options.address && options.address !== "dhcp" ? formatCidr(options.address) : null);
    },
    listen: formatHostPort(options.listen),
    advertise: formatHostPort(advertise),
    version: options.version,
    runtime: platform.runtime,
  };
  let control;
  try {
    const invite = (lifetimeS: number) => issueInvitation(book, [advertise], lifetimeS, platform.clock.now(), Date.now());
    control = await platform.serveControl(options.control, (line) => answer(line, d, info, platform.clock.now(), invite));
  } catch (e) {
    await opened.stopReader();
    opened.device.close();
    transport.close();
    throw e;
  }

  opened.startReader({ frame: (frame) => d.frameIn(frame), batchEnd: () => d.flush() });

  const verb = options.join.length > 0 ? `joining via ${options.join.map(formatHostPort).join(", ")}` : "created a switch";
  platform.log.info(`divs ${options.version}: node ${options.name} on ${options.tap}, ${verb}`, {
    node: options.name, tap: options.tap, listen: info.listen, advertise: info.advertise, keyId: keyring.list()[0].id, runtime: platform.runtime,
  });
  // Never the key itself: logs are kept and read by more people than the key should be (docs/security.md).
  const ask = options.control === defaultControlPath(options.tap) ? (options.tap === "divs0" ? "" : ` --tap ${options.tap}`) : ` --control ${options.control}`;
  const joinLine = `to let a node join: divs invite${ask} prints a single-use invitation (divs token${ask}: a reusable token with the network key)`;
  // Both outputs are the terminal then: one stream keeps the line above the progress line.
  if (platform.progress) platform.progress.line(joinLine);
  else platform.print(joinLine);
  const service = platform.serviceManager;
  const stopWatchdog = startWatchdog(service, platform.timers);
  const stopStartup = watchStartup(d, options.join, platform.timers, platform.clock, {
    step: (text) => {
      platform.progress?.step(text);
      service?.notify(`STATUS=${text}`);
    },
    joined: (members) => {
      const summary = joinedSummary(options, info, members);
      if (platform.progress) platform.progress.done(`divs: ${summary}`);
      else platform.log.info(summary, { members });
      service?.notify(`READY=1\nSTATUS=${summary}`);
    },
  });

  // A node whose --dhcp pool is not the switch's would answer clients from another pool: it leaves.
  let poolRefused = false;
  let stopPoolWatch = () => {};
  const signal = await new Promise<string>((resolve) => {
    platform.onShutdownSignal(resolve);
    if (!options.config.has(DHCP_KEYS.poolSize)) return;
    stopPoolWatch = watchPoolMismatch(platform.timers, () => d.stats().dhcp_pool_mismatch ?? 0, () => {
      poolRefused = true;
      platform.log.warn("--dhcp: other nodes serve another DHCP pool; give every node the same --dhcp START-END (docs/dhcp.md)");
      resolve("DHCP pool mismatch");
    });
  });
  stopPoolWatch();
  stopStartup();
  service?.notify(`STOPPING=1\nSTATUS=${signal}: leaving`);
  platform.log.info(`${signal}: leaving`, { signal });
  d.leave();
  await new Promise((resolve) => platform.timers.set(() => resolve(undefined), leaveGraceMs(core)));
  candidates.stop();
  selfAddress?.stop();
  await opened.stopReader();
  d.stop();
  opened.device.close();
  transport.close();
  await control.close();
  stopWatchdog();
  return poolRefused ? ExitCode.usage : ExitCode.ok;
}

/** The largest datagram follows the TAP MTU (never below what a 1500-byte underlay carries), unless configured. */
function applyConfig(core: Core, options: UpOptions): void {
  const config = new Map(options.config);
  if (!config.has(CONFIG_KEYS.max_datagram)) {
    const frameDatagram = options.mtu + ETHERNET_HEADER + FRAME_DATAGRAM_HEADER;
    config.set(CONFIG_KEYS.max_datagram, Math.max(maxDatagramFor(UNDERLAY_MTU), frameDatagram));
  }
  // A profile sets every membership key: apply it first so keys given next to it win.
  const ordered = [...config].sort(([a], [b]) => Number(b === CONFIG_KEYS.membership_profile) - Number(a === CONFIG_KEYS.membership_profile));
  for (const [key, value] of ordered) {
    if (!core.configSet(key, value)) {
      throw new DivsError(`config ${configName(key)} = ${value} is out of range`, ExitCode.usage);
    }
  }
}

/** The one line that says the node is up: who, where, and the switch it made or joined. */
function joinedSummary(options: UpOptions, info: NodeInfo, members: number): string {
  const where = `node ${options.name} on ${options.tap}${info.address ? ` (${info.address})` : ""}`;
  if (options.join.length === 0) return `${where} created a switch, reachable at ${info.advertise}`;
  return `${where} joined via ${options.join.map(formatHostPort).join(", ")}: ${members} members alive`;
}

function leaveGraceMs(core: Core): number {
  return 2 * core.gossipIntervalMs() + LEAVE_ROUND_TRIP_MS;
}

function advertiseFor(platform: NodeRuntime, listen: HostPort, tap: string): HostPort {
  if (listen.host !== "0.0.0.0" && listen.host !== "::") return listen;
  const guess = guessAdvertise(platform.interfaceAddresses(), listen, tap);
  if (guess === null) throw new DivsError("cannot tell which address to advertise: pass --advertise host:port", ExitCode.usage);
  return guess;
}
