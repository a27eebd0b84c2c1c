import { defineCommand } from "citty";
import type { Platform } from "../common/platform.ts";
export function demoCommand(platform: Platform) {
  return defineCommand({ meta: { name: "demo", description: "todo" }, run() { platform.print("todo"); } });
}
