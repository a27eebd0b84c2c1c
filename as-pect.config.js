// as-pect: core unit specs in tests/spec, compiled against assembly/.
// SPEC=wire- npx asp ... runs only the spec files whose name contains "wire-"
// (the CLI's --disclude flag is ignored by as-pect 8.1).
import { claimStubImports } from "./tests/fixtures/claims-stub.mjs";

const only = process.env.SPEC;
export default {
  entries: [only ? `tests/spec/**/*${only}*.spec.ts` : "tests/spec/**/*.spec.ts"],
  include: ["tests/spec/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    // The module may export its own memory rather than use the one offered: the stand-in reads whichever it uses.
    let module = null;
    const buffer = () => (module?.exports?.memory ?? module?.instance?.exports?.memory ?? memory).buffer;
    module = await instantiate(binary, createImports({ env: { memory, ...claimStubImports(buffer) } }));
    return module;
  },
  outputBinary: false,
};
