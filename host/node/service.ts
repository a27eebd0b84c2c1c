// `divs service install [--tap divs0]`: writes the node's systemd unit (host/ops/systemd-unit.ts),
// and its options and key files when missing, then says how to enable it (docs/service.md).
import fs from "node:fs";
import path from "node:path";
import { defineCommand } from "citty";
import { DEFAULT_TAP } from "../cli/commands.ts";
import { usageError } from "../base/errors.ts";
import type { Platform } from "../engine/platform.ts";
import { formatKey, generateKey } from "../secure/index.ts";
import { type ServiceUser, systemdUnit, unitName } from "../ops/systemd-unit.ts";
import { bundleDir } from "./system.ts";

const TUN = "/dev/net/tun";

export function serviceCommand(platform: Platform, version: string) {
  return defineCommand({
    meta: { name: "service", description: "install: write a systemd unit running divs up for one TAP, with its options and key files (docs/service.md)." },
    args: {
      action: { type: "positional", description: "install", required: true },
      tap: { type: "string", description: "the node's TAP device", default: DEFAULT_TAP },
      user: {
        type: "string",
        description: `dynamic (a non-root user with CAP_NET_ADMIN) or root (uid 0 with CAP_NET_ADMIN only); default: dynamic when everyone may open ${TUN}`,
      },
      "unit-dir": { type: "string", description: "where the unit goes", default: "/etc/systemd/system", valueHint: "DIR" },
      "config-dir": { type: "string", description: "where <tap>.json (divs up options) and <tap>.key (the network key) are", default: "/etc/divs", valueHint: "DIR" },
    },
    run({ args }) {
      if (args.action !== "install") throw usageError(`bad service action "${args.action}": expected install`);
      if (!/^[A-Za-z0-9_.-]{1,15}$/.test(args.tap)) throw usageError(`bad --tap "${args.tap}": a device name, 15 characters at most`);
      const user = (args.user ?? defaultUser()) as ServiceUser;
      if (user !== "dynamic" && user !== "root") throw usageError(`bad --user "${args.user}": expected dynamic or root`);
      const configDir = path.resolve(args["config-dir"]);
      const configFile = path.join(configDir, `${args.tap}.json`);
      const keyFile = path.join(configDir, `${args.tap}.key`);
      const unitFile = path.join(path.resolve(args["unit-dir"]), unitName(args.tap));
      const say = (t: string) => platform.print(t);
      if (bundleDir.includes("/_npx/")) {
        platform.printError(`divs: warning: this divs runs from npx's cache, which npm may clear: npm install -g divs, then install the unit again`);
      }
      fs.mkdirSync(configDir, { recursive: true, mode: 0o700 });
      if (writeNew(keyFile, `${formatKey(generateKey(platform.crypto))}\n`)) {
        say(`wrote ${keyFile}: a new network key; every node of the switch needs the same (copy it to theirs)`);
      }
      if (writeNew(configFile, "{}\n")) say(`wrote ${configFile}: divs up options, none yet ("address", "join", ...: docs/config.md)`);
      fs.mkdirSync(path.dirname(unitFile), { recursive: true });
      fs.writeFileSync(unitFile, systemdUnit({
        tap: args.tap, command: [process.execPath, path.join(bundleDir, "divs.cjs")], configFile, keyFile, user,
        docs: path.resolve(bundleDir, "../docs"), version,
      }), { mode: 0o644 });
      say(`wrote ${unitFile} (${user === "dynamic" ? "a dynamic user with CAP_NET_ADMIN" : "uid 0 with CAP_NET_ADMIN only"})`);
      say(`enable and start it (it is started once it has joined):\n  systemctl daemon-reload\n  systemctl enable --now --no-block ${unitName(args.tap)}`);
      say(`then: systemctl status ${unitName(args.tap)}; journalctl -u ${unitName(args.tap)} -f; divs status --tap ${args.tap}`);
    },
  });
}

/** A non-root user works only where it may open the TUN device (mode 0666, the usual). */
function defaultUser(): ServiceUser {
  try {
    return (fs.statSync(TUN).mode & 0o006) === 0o006 ? "dynamic" : "root";
  } catch {
    return "dynamic";
  }
}

/** Writes `text` (mode 0600) unless the file exists; true when it wrote. */
function writeNew(file: string, text: string): boolean {
  try {
    fs.writeFileSync(file, text, { mode: 0o600, flag: "wx" });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}
