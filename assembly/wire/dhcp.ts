// DHCP (RFC 2131) over BOOTP (RFC 951), options RFC 2132. The fixed part:
//   op(1) htype(1) hlen(1) hops(1) xid(4) secs(2) flags(2) ciaddr(4) yiaddr(4)
//   siaddr(4) giaddr(4) chaddr(16) sname(64) file(128) magic(4) options...
// Only Ethernet clients (htype 1, hlen 6) are ours. Options are type, length,
// value, ended by END; PAD is one byte. Overloaded sname/file (option 52) are
// not read: no client we serve needs them for what we ask.
import { WireCheck } from "./check";
import { getMac, getU16, getU32, putMac, putU16, putU32 } from "./bytes";

export const DHCP_OP: u32 = 0;
export const DHCP_HTYPE: u32 = 1;
export const DHCP_HLEN: u32 = 2;
export const DHCP_HOPS: u32 = 3;
export const DHCP_XID: u32 = 4;
export const DHCP_SECS: u32 = 8;
export const DHCP_FLAGS: u32 = 10;
export const DHCP_CIADDR: u32 = 12;
export const DHCP_YIADDR: u32 = 16;
export const DHCP_SIADDR: u32 = 20;
export const DHCP_GIADDR: u32 = 24;
export const DHCP_CHADDR: u32 = 28;
export const DHCP_SNAME: u32 = 44;
export const DHCP_FILE: u32 = 108;
export const DHCP_MAGIC: u32 = 236;
export const DHCP_OPTIONS: u32 = 240;
export const DHCP_MAGIC_COOKIE: u32 = 0x63825363;

export const BOOTREQUEST: u8 = 1;
export const BOOTREPLY: u8 = 2;
export const DHCP_FLAG_BROADCAST: u16 = 0x8000;
export const DHCP_SERVER_PORT: u16 = 67;
export const DHCP_CLIENT_PORT: u16 = 68;

export const OPT_PAD: u8 = 0;
export const OPT_SUBNET_MASK: u8 = 1;
export const OPT_ROUTER: u8 = 3;
export const OPT_DNS: u8 = 6;
export const OPT_HOSTNAME: u8 = 12;
export const OPT_MTU: u8 = 26;
export const OPT_REQUESTED_IP: u8 = 50;
export const OPT_LEASE_TIME: u8 = 51;
export const OPT_MESSAGE_TYPE: u8 = 53;
export const OPT_SERVER_ID: u8 = 54;
export const OPT_PARAM_LIST: u8 = 55;
export const OPT_RENEWAL_T1: u8 = 58;
export const OPT_REBINDING_T2: u8 = 59;
export const OPT_CLIENT_ID: u8 = 61;
export const OPT_END: u8 = 255;

export const DHCPDISCOVER: u8 = 1;
export const DHCPOFFER: u8 = 2;
export const DHCPREQUEST: u8 = 3;
export const DHCPDECLINE: u8 = 4;
export const DHCPACK: u8 = 5;
export const DHCPNAK: u8 = 6;
export const DHCPRELEASE: u8 = 7;
export const DHCPINFORM: u8 = 8;

/** Longest client id or host name kept (RFC 2132 allows 255; longer ones are cut to this). */
export const DHCP_TEXT_MAX: u32 = 64;

/** A parsed request: the fields a server reads. Options absent read as 0 / empty. */
export class DhcpRequest {
  op: u8 = 0;
  xid: u32 = 0;
  flags: u16 = 0;
  ciaddr: u32 = 0;
  giaddr: u32 = 0;
  chaddr: u64 = 0;
  type: u8 = 0;
  requestedIp: u32 = 0;
  serverId: u32 = 0;
  hasServerId: bool = false;
  clientId: usize = 0;
  clientIdLen: u32 = 0;
  hostname: usize = 0;
  hostnameLen: u32 = 0;
}

/**
 * Checks the `len` bytes at `p` hold a DHCP message for Ethernet and reads it
 * into `out` (pointers into the message). Truncated when the fixed part or an
 * option runs past `len`; Malformed for another hardware type, no magic
 * cookie, or no (or a bad) message type option.
 */
export function dhcpParse(p: usize, len: u32, out: DhcpRequest): WireCheck {
  if (len < DHCP_OPTIONS) return WireCheck.Truncated;
  if (load<u8>(p + DHCP_HTYPE) != 1 || load<u8>(p + DHCP_HLEN) != 6 || getU32(p + DHCP_MAGIC) != DHCP_MAGIC_COOKIE) {
    return WireCheck.Malformed;
  }
  out.op = load<u8>(p + DHCP_OP);
  out.xid = getU32(p + DHCP_XID);
  out.flags = getU16(p + DHCP_FLAGS);
  out.ciaddr = getU32(p + DHCP_CIADDR);
  out.giaddr = getU32(p + DHCP_GIADDR);
  out.chaddr = getMac(p + DHCP_CHADDR);
  out.type = 0;
  out.requestedIp = 0;
  out.serverId = 0;
  out.hasServerId = false;
  out.clientId = 0;
  out.clientIdLen = 0;
  out.hostname = 0;
  out.hostnameLen = 0;
  let off = DHCP_OPTIONS;
  while (off < len) {
    const code = load<u8>(p + off);
    if (code == OPT_END) break;
    if (code == OPT_PAD) { off++; continue; }
    if (len - off < 2) return WireCheck.Truncated;
    const optLen = <u32>load<u8>(p + off + 1);
    const v = p + off + 2;
    if (len - off - 2 < optLen) return WireCheck.Truncated;
    switch (code) {
      case OPT_MESSAGE_TYPE:
        if (optLen != 1) return WireCheck.Malformed;
        out.type = load<u8>(v);
        break;
      case OPT_REQUESTED_IP:
        if (optLen != 4) return WireCheck.Malformed;
        out.requestedIp = getU32(v);
        break;
      case OPT_SERVER_ID:
        if (optLen != 4) return WireCheck.Malformed;
        out.serverId = getU32(v);
        out.hasServerId = true;
        break;
      case OPT_CLIENT_ID:
        out.clientId = v;
        out.clientIdLen = min(optLen, DHCP_TEXT_MAX);
        break;
      case OPT_HOSTNAME:
        out.hostname = v;
        out.hostnameLen = min(optLen, DHCP_TEXT_MAX);
        break;
    }
    off += 2 + optLen;
  }
  if (out.type < DHCPDISCOVER || out.type > DHCPINFORM) return WireCheck.Malformed;
  return WireCheck.Ok;
}

/** The options of a reply: 0 / empty ones are left out. */
export class DhcpReply {
  type: u8 = 0;
  xid: u32 = 0;
  flags: u16 = 0;
  ciaddr: u32 = 0;
  yiaddr: u32 = 0;
  chaddr: u64 = 0;
  serverId: u32 = 0;
  leaseS: u32 = 0; // also sets T1 = 1/2 and T2 = 7/8 of it
  mask: u32 = 0;
  router: u32 = 0;
  dns1: u32 = 0;
  dns2: u32 = 0;
  mtu: u16 = 0;
  /** Echoed client id (RFC 6842), or 0. */
  clientId: usize = 0;
  clientIdLen: u32 = 0;
}

/** Bytes dhcpEmit writes at most: the fixed part and every option we send. */
export const DHCP_REPLY_MAX: u32 = DHCP_OPTIONS + 3 + 6 * 6 + 10 + 4 + 2 + DHCP_TEXT_MAX + 1;

function putOpt32(p: usize, code: u8, v: u32): u32 {
  store<u8>(p, code);
  store<u8>(p + 1, 4);
  putU32(p + 2, v);
  return 6;
}

/** Writes the reply `r` at `p` (room for `cap` bytes); returns its length, or 0 when it does not fit. */
export function dhcpEmit(p: usize, cap: u32, r: DhcpReply): u32 {
  if (cap < DHCP_REPLY_MAX) return 0;
  memory.fill(p, 0, DHCP_OPTIONS);
  store<u8>(p + DHCP_OP, BOOTREPLY);
  store<u8>(p + DHCP_HTYPE, 1);
  store<u8>(p + DHCP_HLEN, 6);
  putU32(p + DHCP_XID, r.xid);
  putU16(p + DHCP_FLAGS, r.flags);
  putU32(p + DHCP_CIADDR, r.ciaddr);
  putU32(p + DHCP_YIADDR, r.yiaddr);
  putMac(p + DHCP_CHADDR, r.chaddr);
  putU32(p + DHCP_MAGIC, DHCP_MAGIC_COOKIE);
  let off = DHCP_OPTIONS;
  store<u8>(p + off, OPT_MESSAGE_TYPE);
  store<u8>(p + off + 1, 1);
  store<u8>(p + off + 2, r.type);
  off += 3;
  off += putOpt32(p + off, OPT_SERVER_ID, r.serverId);
  if (r.leaseS != 0) {
    off += putOpt32(p + off, OPT_LEASE_TIME, r.leaseS);
    off += putOpt32(p + off, OPT_RENEWAL_T1, r.leaseS / 2);
    off += putOpt32(p + off, OPT_REBINDING_T2, <u32>(<u64>r.leaseS * 7 / 8));
  }
  if (r.mask != 0) off += putOpt32(p + off, OPT_SUBNET_MASK, r.mask);
  if (r.router != 0) off += putOpt32(p + off, OPT_ROUTER, r.router);
  if (r.dns1 != 0) {
    const two = r.dns2 != 0;
    store<u8>(p + off, OPT_DNS);
    store<u8>(p + off + 1, two ? 8 : 4);
    putU32(p + off + 2, r.dns1);
    if (two) putU32(p + off + 6, r.dns2);
    off += two ? 10 : 6;
  }
  if (r.mtu != 0) {
    store<u8>(p + off, OPT_MTU);
    store<u8>(p + off + 1, 2);
    putU16(p + off + 2, r.mtu);
    off += 4;
  }
  if (r.clientIdLen != 0) {
    const n = min(r.clientIdLen, DHCP_TEXT_MAX);
    store<u8>(p + off, OPT_CLIENT_ID);
    store<u8>(p + off + 1, <u8>n);
    memory.copy(p + off + 2, r.clientId, n);
    off += 2 + n;
  }
  store<u8>(p + off, OPT_END);
  return off + 1;
}
