// IP bindings in push-pull (section SECTION_BINDINGS, docs/arp.md): each exchange carries the usable
// bindings as IP_BINDING entries, each with its owner's key and signature (one whose owner's key we do
// not know is left out), so a joiner or a member that missed a claim has it at the next
// exchange instead of the owner's next refresh. Entries are applied like gossiped claims (the version
// rule); a binding is still used only while the MAC table gives its owner the MAC.
import { Binding, bindingGossipMessage, bindingTrailer, bindingsValid } from "./bindings";
import { SECTION_BINDINGS } from "./membership/codec";
import { PushPullSection, pushPullRegister } from "./membership/pushpull";
import { self } from "./node";
import { Stat, count } from "./stats";
import { BINDMSG_FLAGS, BIND_F_IPV6, bindMsgEncode, bindMsgLen } from "./wire/bindmsg";

/** Entries one push-pull carries at most; a larger table is covered over successive exchanges. */
const SECTION_MAX_ENTRIES: i32 = 8192;

class BindingSection extends PushPullSection {
  private list: Array<Binding> = new Array<Binding>();
  private start: i32 = 0;
  private cursor: i32 = 0;
  private visited: i32 = 0;
  constructor() { super(SECTION_BINDINGS); }

  begin(): void {
    this.list = bindingsValid();
    this.cursor = this.list.length > 0 ? this.start % this.list.length : 0;
    this.visited = 0;
  }

  done(): bool { return this.visited >= min(this.list.length, SECTION_MAX_ENTRIES); }

  write(buf: usize, cap: u32): u32 {
    let used: u32 = 0;
    while (!this.done()) {
      const b = unchecked(this.list[this.cursor]);
      const t = bindingTrailer(b);
      if (t != 0) {
        const n = bindMsgEncode(buf + used, cap - used, b.vlan, b.ip, b.mac, b.owner, b.version, b.router, t);
        if (n == 0) break;
        used += n;
      }
      this.cursor = (this.cursor + 1) % this.list.length;
      this.visited++;
    }
    if (this.done()) this.start = this.cursor;
    return used;
  }

  read(ptr: usize, len: u32, from: u64): void {
    for (let off: u32 = 0; off < len;) {
      const n = len - off >= 2 ? bindMsgLen((load<u8>(ptr + off + BINDMSG_FLAGS) & BIND_F_IPV6) != 0) : len - off + 1;
      if (n > len - off) { count(Stat.BindingUpdateMalformed); return; }
      bindingGossipMessage(ptr + off, n, self.now);
      off += n;
    }
  }
}

pushPullRegister(new BindingSection());
