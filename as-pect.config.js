// as-pect: core unit specs in tests/spec, compiled against assembly/.
export default {
  entries: ["tests/spec/**/*.spec.ts"],
  include: ["tests/spec/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    return instantiate(binary, createImports({ env: { memory } }));
  },
  outputBinary: false,
};
