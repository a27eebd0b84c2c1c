// as-pect: core unit specs in tests/spec, compiled against assembly/.
// SPEC=wire- npx asp ... runs only the spec files whose name contains "wire-"
// (the CLI's --disclude flag is ignored by as-pect 8.1).
const only = process.env.SPEC;
export default {
  entries: [only ? `tests/spec/**/*${only}*.spec.ts` : "tests/spec/**/*.spec.ts"],
  include: ["tests/spec/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    return instantiate(binary, createImports({ env: { memory } }));
  },
  outputBinary: false,
};
