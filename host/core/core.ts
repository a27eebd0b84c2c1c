// The WASM core behind a small typed wrapper: input records in, process(), output records out.
// Runtime-agnostic: the host hands over the module bytes; nothing here touches files or sockets.
import { ADDR_LEN } from "../net/address.ts";
import { ABI_VERSION, ADDR_SLOT, IN_CANDIDATES, IN_DATAGRAM, IN_DATAGRAM_VIA, IN_DHCP_RESTORE, IN_DHCP_SELF, IN_FRAME, IN_IDENTITY, IN_JOIN, IN_BAN, IN_LEAVE, IN_PATHS_QUERY, IN_PING, IN_RANDOM, IN_SEND_TOO_BIG, OUT_DHCP_STATE, REC_HEADER, alignUp } from "./abi.ts";
import type { ClaimCrypto } from "../secure/claims.ts";

interface CoreExports {
  memory: WebAssembly.Memory;
  abi_version(): number;
  input_ptr(): number;
  input_capacity(): number;
  output_ptr(): number;
  output_capacity(): number;
  process(len: number, now: number): number;
  config_set(key: number, value: number): number;
  gossip_interval_ms(): number;
  stats_dump(): number;
  members_dump?(): number;
  macs_dump?(from: number): number;
  macs_dump_next?(): number;
  /** NAT traversal (docs/abi.md): cores before it lack these, and the host shows "unknown". */
  paths_dump?(): number;
  self_dump?(): number;
  dhcp_dump?(from: number): number;
  dhcp_dump_next?(): number;
  dhcp_save?(restart: number): number;
}

/** Called once per output record; `body` is a view into core memory, valid only during the call. */
export type RecordVisitor = (kind: number, body: Uint8Array) => void;

export class CoreError extends Error {}

export class Core {
  private readonly exports: CoreExports;
  private readonly inputPtr: number;
  private readonly inputCapacity: number;
  private readonly outputPtr: number;
  private bytes: Uint8Array;
  private view: DataView;
  private inputLen = 0;

  /** Signs and checks member claims (docs/abi.md "Claim signatures"); set before the first IN_IDENTITY. */
  private claims: ClaimCrypto | null = null;

  static async load(wasm: BufferSource): Promise<Core> {
    let core: Core | null = null;
    const imports = {
      env: {
        abort(msg: number, file: number, line: number, col: number) {
          throw new CoreError(`core aborted at ${line}:${col}`);
        },
        claim_sign(ptr: number, len: number) {
          if (core?.claims == null) throw new CoreError("the core signs a claim before the host gave it an identity");
          core.claims.sign(core.region(ptr, len));
        },
        claim_verify(ptr: number, len: number): number {
          return core?.claims?.verify(core.region(ptr, len)) ? 1 : 0;
        },
      },
    };
    const { instance } = await WebAssembly.instantiate(wasm, imports);
    core = new Core(instance.exports as unknown as CoreExports);
    return core;
  }

  useClaims(claims: ClaimCrypto): void {
    this.claims = claims;
  }

  /** A view of the core's memory (rebuilt if it grew). */
  private region(ptr: number, len: number): Uint8Array {
    this.refresh();
    return this.bytes.subarray(ptr, ptr + len);
  }

  private constructor(exports: CoreExports) {
    this.exports = exports;
    const version = exports.abi_version();
    if (version !== ABI_VERSION) throw new CoreError(`core ABI version ${version}, host expects ${ABI_VERSION}`);
    this.inputPtr = exports.input_ptr();
    this.inputCapacity = exports.input_capacity();
    this.outputPtr = exports.output_ptr();
    this.bytes = new Uint8Array(exports.memory.buffer);
    this.view = new DataView(exports.memory.buffer);
  }

  /** Views are rebuilt when the core's memory grows (the old buffer is detached). */
  private refresh(): void {
    if (this.bytes.buffer !== this.exports.memory.buffer) {
      this.bytes = new Uint8Array(this.exports.memory.buffer);
      this.view = new DataView(this.exports.memory.buffer);
    }
  }

  get pendingInput(): number {
    return this.inputLen;
  }

  /** Room left for a record body, so callers can flush before appending. */
  fits(bodyLen: number): boolean {
    return this.inputLen + alignUp(REC_HEADER + bodyLen) <= this.inputCapacity;
  }

  /** Reserves an input record and returns the offset of its body in core memory. */
  private reserve(kind: number, bodyLen: number): number {
    if (!this.fits(bodyLen)) throw new CoreError(`input record of ${bodyLen} bytes does not fit`);
    this.refresh();
    const rec = this.inputPtr + this.inputLen;
    this.view.setUint16(rec, kind, true);
    this.view.setUint16(rec + 2, 0, true);
    this.view.setUint32(rec + 4, bodyLen, true);
    this.inputLen += alignUp(REC_HEADER + bodyLen);
    return rec + REC_HEADER;
  }

  pushFrame(frame: Uint8Array): void {
    this.bytes.set(frame, this.reserve(IN_FRAME, frame.length));
  }

  /** IN_DATAGRAM_VIA: a datagram from `source` that arrived through the relay at `via`. */
  pushDatagramVia(source: Uint8Array, via: Uint8Array, datagram: Uint8Array): void {
    const body = this.reserve(IN_DATAGRAM_VIA, 2 * ADDR_SLOT + datagram.length);
    this.writeSlots(body, source, via);
    this.bytes.set(datagram, body + 2 * ADDR_SLOT);
  }

  /** IN_PING: `divs ping` of the member with this 8-byte id; the core answers OUT_PONG with `seq`. */
  pushPing(nodeId: Uint8Array, seq: number): void {
    const body = this.reserve(IN_PING, 12);
    this.bytes.set(nodeId.subarray(0, 8), body);
    this.view.setUint32(body + 8, seq >>> 0, true);
  }

  /** IN_PATHS_QUERY: ask the member with this 8-byte id for its paths from `start` on; answered by OUT_PATHS_REPORT. */
  pushPathsQuery(nodeId: Uint8Array, seq: number, start: number): void {
    const body = this.reserve(IN_PATHS_QUERY, 14);
    this.bytes.set(nodeId.subarray(0, 8), body);
    this.view.setUint32(body + 8, seq >>> 0, true);
    this.view.setUint16(body + 12, start, true);
  }

  private writeSlots(body: number, source: Uint8Array, via: Uint8Array): void {
    this.bytes.fill(0, body, body + 2 * ADDR_SLOT);
    this.bytes.set(source.subarray(0, ADDR_LEN), body);
    this.bytes.set(via.subarray(0, ADDR_LEN), body + ADDR_SLOT);
  }

  /** `address` holds the 18-byte source address at `addressOffset`. */
  pushDatagram(address: Uint8Array, addressOffset: number, datagram: Uint8Array): void {
    const body = this.reserve(IN_DATAGRAM, ADDR_SLOT + datagram.length);
    this.bytes.set(address.subarray(addressOffset, addressOffset + ADDR_LEN), body);
    this.bytes[body + ADDR_LEN] = 0;
    this.bytes[body + ADDR_LEN + 1] = 0;
    this.bytes.set(datagram, body + ADDR_SLOT);
  }

  /** IN_SEND_TOO_BIG: a datagram of `plaintextLength` bytes to `address` was refused with EMSGSIZE. */
  pushSendTooBig(address: Uint8Array, plaintextLength: number): void {
    const body = this.reserve(IN_SEND_TOO_BIG, ADDR_SLOT + 4);
    this.bytes.fill(0, body, body + ADDR_SLOT);
    this.bytes.set(address.subarray(0, ADDR_LEN), body);
    this.view.setUint32(body + ADDR_SLOT, plaintextLength, true);
  }

  /**
   * Where the next IN_DATAGRAM's (`relayed`: IN_DATAGRAM_VIA's) payload of `length` bytes goes in core
   * memory, so it can be written there (the transport layer opens into it); null when it does not fit.
   * pushOpenedDatagram() (pushOpenedDatagramVia()) then completes the record; any other push in
   * between overwrites it.
   */
  datagramSlot(length: number, relayed = false): Uint8Array | null {
    const header = relayed ? 2 * ADDR_SLOT : ADDR_SLOT;
    if (!this.fits(header + length)) return null;
    this.refresh();
    const at = this.inputPtr + this.inputLen + REC_HEADER + header;
    return this.bytes.subarray(at, at + length);
  }

  /** The IN_DATAGRAM_VIA whose `length`-byte payload is already in datagramSlot(length, true). */
  pushOpenedDatagramVia(source: Uint8Array, via: Uint8Array, length: number): void {
    this.writeSlots(this.reserve(IN_DATAGRAM_VIA, 2 * ADDR_SLOT + length), source, via);
  }

  /** The IN_DATAGRAM whose `length`-byte payload is already in datagramSlot(length). */
  pushOpenedDatagram(address: Uint8Array, length: number): void {
    const body = this.reserve(IN_DATAGRAM, ADDR_SLOT + length);
    this.bytes.set(address.subarray(0, ADDR_LEN), body);
    this.bytes[body + ADDR_LEN] = 0;
    this.bytes[body + ADDR_LEN + 1] = 0;
  }

  pushRandom(random: Uint8Array): void {
    this.bytes.set(random, this.reserve(IN_RANDOM, random.length));
  }

  pushIdentity(nodeId: Uint8Array, address: Uint8Array, name: string): void {
    const nameBytes = new TextEncoder().encode(name);
    const body = this.reserve(IN_IDENTITY, 8 + ADDR_SLOT + nameBytes.length);
    this.bytes.set(nodeId.subarray(0, 8), body);
    this.bytes.fill(0, body + 8, body + 8 + ADDR_SLOT);
    this.bytes.set(address, body + 8);
    this.bytes.set(nameBytes, body + 8 + ADDR_SLOT);
  }

  pushJoin(address: Uint8Array): void {
    const body = this.reserve(IN_JOIN, ADDR_SLOT);
    this.bytes.fill(0, body, body + ADDR_SLOT);
    this.bytes.set(address, body);
  }

  /** IN_CANDIDATES: the node's local addresses (18-byte forms), replacing the list given before. */
  pushCandidates(addresses: readonly Uint8Array[]): void {
    const body = this.reserve(IN_CANDIDATES, addresses.length * ADDR_SLOT);
    this.bytes.fill(0, body, body + addresses.length * ADDR_SLOT);
    addresses.forEach((a, i) => this.bytes.set(a.subarray(0, ADDR_LEN), body + i * ADDR_SLOT));
  }

  /** IN_DHCP_RESTORE: a saved OUT_DHCP_STATE body, `elapsedMs` after it was saved. */
  pushDhcpRestore(elapsedMs: number, state: Uint8Array): void {
    const body = this.reserve(IN_DHCP_RESTORE, 8 + state.length);
    this.view.setFloat64(body, elapsedMs, true);
    this.bytes.set(state, body + 8);
  }

  /** IN_DHCP_SELF: a lease for the TAP with this 6-byte MAC, under the node's name; answered by OUT_DHCP_ADDRESS. */
  pushDhcpSelf(mac: Uint8Array, name: string): void {
    const nameBytes = new TextEncoder().encode(name).subarray(0, 64);
    const body = this.reserve(IN_DHCP_SELF, 8 + nameBytes.length);
    this.bytes.set(mac.subarray(0, 6), body);
    this.bytes.fill(0, body + 6, body + 8);
    this.bytes.set(nameBytes, body + 8);
  }

  pushLeave(): void {
    this.reserve(IN_LEAVE, 0);
  }

  /** IN_BAN: the member with this 8-byte id was removed from the switch. */
  pushBan(nodeId: Uint8Array): void {
    this.bytes.set(nodeId.subarray(0, 8), this.reserve(IN_BAN, 8));
  }

  /** Hands every pending input record to the core at `now` and visits the output records. */
  process(now: number, visit: RecordVisitor): void {
    const len = this.inputLen;
    this.inputLen = 0;
    this.visitOutput(this.exports.process(len, now), visit);
  }

  configSet(key: number, value: number): boolean {
    return this.exports.config_set(key, value) !== 0;
  }

  /** The gossip interval in force (the membership profile's, or its own key's). */
  gossipIntervalMs(): number {
    return this.exports.gossip_interval_ms();
  }

  stats(visit: RecordVisitor): void {
    this.visitOutput(this.exports.stats_dump(), visit);
  }

  members(visit: RecordVisitor): void {
    if (this.exports.members_dump) this.visitOutput(this.exports.members_dump(), visit);
  }

  /** False on a core without NAT traversal: paths and self are unknown. */
  get hasPaths(): boolean {
    return this.exports.paths_dump !== undefined;
  }

  get hasSelf(): boolean {
    return this.exports.self_dump !== undefined;
  }

  paths(visit: RecordVisitor): void {
    if (this.exports.paths_dump) this.visitOutput(this.exports.paths_dump(), visit);
  }

  self(visit: RecordVisitor): void {
    if (this.exports.self_dump) this.visitOutput(this.exports.self_dump(), visit);
  }

  /** The MAC table comes in pages (one output region each); `macs_dump_next` says where to go on. */
  macs(visit: RecordVisitor): void {
    const { macs_dump, macs_dump_next } = this.exports;
    if (!macs_dump || !macs_dump_next) return;
    let from = 0;
    do {
      this.visitOutput(macs_dump(from), visit);
      from = macs_dump_next();
    } while (from !== 0);
  }

  /** The DHCP pool's ranges and leases, in pages like the MAC table. */
  dhcp(visit: RecordVisitor): void {
    const { dhcp_dump, dhcp_dump_next } = this.exports;
    if (!dhcp_dump || !dhcp_dump_next) return;
    let from = 0;
    do {
      this.visitOutput(dhcp_dump(from), visit);
      from = dhcp_dump_next();
    } while (from !== 0);
  }

  /** The DHCP state to keep (dhcp_save), as copies of its OUT_DHCP_STATE bodies; none on a core without it. */
  dhcpState(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const save = this.exports.dhcp_save;
    if (!save) return out;
    const keep = (kind: number, body: Uint8Array) => { if (kind === OUT_DHCP_STATE) out.push(body.slice()); };
    for (let len = save(1); len > 0; len = save(0)) this.visitOutput(len, keep);
    return out;
  }

  private visitOutput(len: number, visit: RecordVisitor): void {
    this.refresh();
    const bytes = this.bytes;
    const view = this.view;
    let off = this.outputPtr;
    const end = off + len;
    while (end - off >= REC_HEADER) {
      const kind = view.getUint16(off, true);
      const bodyLen = view.getUint32(off + 4, true);
      const body = off + REC_HEADER;
      if (bodyLen > end - body) throw new CoreError("core emitted a truncated output record");
      visit(kind, bytes.subarray(body, body + bodyLen));
      off += alignUp(REC_HEADER + bodyLen);
    }
  }
}
