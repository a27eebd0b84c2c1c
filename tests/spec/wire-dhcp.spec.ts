import { WireCheck } from "../../assembly/wire/check";
import {
  DHCPACK, DHCPDISCOVER, DHCPREQUEST, DHCP_OPTIONS, DHCP_REPLY_MAX, DhcpReply, DhcpRequest, OPT_CLIENT_ID, OPT_DNS,
  OPT_END, OPT_HOSTNAME, OPT_LEASE_TIME, OPT_MESSAGE_TYPE, OPT_MTU, OPT_PAD, OPT_PARAM_LIST, OPT_REBINDING_T2,
  OPT_RENEWAL_T1, OPT_REQUESTED_IP, OPT_ROUTER, OPT_SERVER_ID, OPT_SUBNET_MASK, dhcpEmit, dhcpParse,
} from "../../assembly/wire/dhcp";
import { atMemoryEnd, ip4, ptr } from "./wire-helpers";

const CLIENT: u64 = 0x02005e100001;

/** A request as udhcpc sends it: type first, then client id, requested address, host name, parameters. */
function request(type: u8): StaticArray<u8> {
  const opts: u8[] = [
    OPT_MESSAGE_TYPE, 1, type,
    OPT_CLIENT_ID, 7, 1, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01,
    OPT_PAD,
    OPT_REQUESTED_IP, 4, 198, 18, 0, 120,
    OPT_HOSTNAME, 3, 0x76, 0x6d, 0x31,
    OPT_PARAM_LIST, 6, 1, 3, 6, 12, 26, 51,
    OPT_END,
  ];
  const a = new StaticArray<u8>(DHCP_OPTIONS + opts.length);
  a[0] = 1; a[1] = 1; a[2] = 6;
  a[4] = 0xde; a[5] = 0xad; a[6] = 0xbe; a[7] = 0xef;
  a[10] = 0x80; // broadcast
  const mac: u8[] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
  for (let i = 0; i < 6; i++) a[28 + i] = mac[i];
  a[236] = 0x63; a[237] = 0x82; a[238] = 0x53; a[239] = 0x63;
  for (let i = 0; i < opts.length; i++) a[DHCP_OPTIONS + i] = opts[i];
  return a;
}

describe("wire: dhcp request", () => {
  it("reads a DISCOVER's fields and options", () => {
    const m = request(DHCPDISCOVER);
    const r = new DhcpRequest();
    expect(dhcpParse(ptr(m), m.length, r)).toBe(WireCheck.Ok);
    expect(r.op).toBe(1);
    expect(r.xid).toBe(0xdeadbeef);
    expect(r.flags).toBe(0x8000);
    expect(r.chaddr).toBe(CLIENT);
    expect(r.type).toBe(DHCPDISCOVER);
    expect(r.requestedIp).toBe(ip4(198, 18, 0, 120));
    expect(r.hasServerId).toBe(false);
    expect(r.clientIdLen).toBe(7);
    expect(load<u8>(r.clientId)).toBe(1);
    expect(String.UTF8.decodeUnsafe(r.hostname, r.hostnameLen)).toBe("vm1");
  });

  it("never reads past the length: every cut is Ok or Truncated, and short of the fixed part Truncated", () => {
    const m = request(DHCPREQUEST);
    const r = new DhcpRequest();
    for (let k: u32 = 0; k <= <u32>m.length; k++) {
      const v = dhcpParse(atMemoryEnd(ptr(m), k), k, r);
      if (k < DHCP_OPTIONS + 3) expect(v).not.toBe(WireCheck.Ok);
      else expect(v == WireCheck.Ok || v == WireCheck.Truncated).toBe(true);
    }
  });

  it("rejects another hardware type, a missing cookie, a bad message type", () => {
    const r = new DhcpRequest();
    const a = request(DHCPDISCOVER);
    a[1] = 6;
    expect(dhcpParse(ptr(a), a.length, r)).toBe(WireCheck.Malformed);
    const b = request(DHCPDISCOVER);
    b[239] = 0;
    expect(dhcpParse(ptr(b), b.length, r)).toBe(WireCheck.Malformed);
    const c = request(9);
    expect(dhcpParse(ptr(c), c.length, r)).toBe(WireCheck.Malformed);
    const d = request(DHCPDISCOVER);
    d[DHCP_OPTIONS + 1] = 2; // type option of length 2
    expect(dhcpParse(ptr(d), d.length, r)).not.toBe(WireCheck.Ok);
  });
});

/** Where option `code` starts in the reply at `p` (`len` bytes), or -1. */
function findOption(p: usize, len: u32, code: u8): i32 {
  let off = DHCP_OPTIONS;
  while (off + 1 < len) {
    const c = load<u8>(p + off);
    if (c == OPT_END) return -1;
    if (c == code) return <i32>off;
    off += 2 + <u32>load<u8>(p + off + 1);
  }
  return -1;
}

function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }

describe("wire: dhcp reply", () => {
  it("writes every option it is given, and the lease's T1 and T2", () => {
    const r = new DhcpReply();
    r.type = DHCPACK; r.xid = 7; r.yiaddr = ip4(198, 18, 0, 120); r.chaddr = CLIENT; r.serverId = ip4(198, 18, 0, 100);
    r.leaseS = 3600; r.mask = 0xffffff00; r.router = ip4(198, 18, 0, 1); r.dns1 = ip4(198, 18, 0, 2);
    r.dns2 = ip4(198, 18, 0, 3); r.mtu = 1400;
    const buf = new StaticArray<u8>(DHCP_REPLY_MAX);
    const p = ptr(buf);
    const n = dhcpEmit(p, DHCP_REPLY_MAX, r);
    expect(n).toBeGreaterThan(DHCP_OPTIONS);
    expect(load<u8>(p)).toBe(2);
    expect(be32(p + 16)).toBe(ip4(198, 18, 0, 120));
    expect(load<u8>(p + <u32>findOption(p, n, OPT_MESSAGE_TYPE) + 2)).toBe(DHCPACK);
    expect(be32(p + <u32>findOption(p, n, OPT_SERVER_ID) + 2)).toBe(ip4(198, 18, 0, 100));
    expect(be32(p + <u32>findOption(p, n, OPT_LEASE_TIME) + 2)).toBe(3600);
    expect(be32(p + <u32>findOption(p, n, OPT_RENEWAL_T1) + 2)).toBe(1800);
    expect(be32(p + <u32>findOption(p, n, OPT_REBINDING_T2) + 2)).toBe(3150);
    expect(be32(p + <u32>findOption(p, n, OPT_SUBNET_MASK) + 2)).toBe(0xffffff00);
    expect(be32(p + <u32>findOption(p, n, OPT_ROUTER) + 2)).toBe(ip4(198, 18, 0, 1));
    const dns = findOption(p, n, OPT_DNS);
    expect(load<u8>(p + <u32>dns + 1)).toBe(8);
    expect(be32(p + <u32>dns + 6)).toBe(ip4(198, 18, 0, 3));
    expect(bswap<u16>(load<u16>(p + <u32>findOption(p, n, OPT_MTU) + 2))).toBe(1400);
    expect(findOption(p, n, OPT_CLIENT_ID)).toBe(-1);
    expect(load<u8>(p + n - 1)).toBe(OPT_END);
  });

  it("leaves out what is 0, and refuses a buffer too small", () => {
    const r = new DhcpReply();
    r.type = DHCPACK; r.serverId = 1;
    const buf = new StaticArray<u8>(DHCP_REPLY_MAX);
    const n = dhcpEmit(ptr(buf), DHCP_REPLY_MAX, r);
    expect(n).toBe(DHCP_OPTIONS + 3 + 6 + 1);
    expect(dhcpEmit(ptr(buf), DHCP_REPLY_MAX - 1, r)).toBe(0);
  });
});
