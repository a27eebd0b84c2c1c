// Runtime configuration, set by the host through `config_set(key, value)`
// before or between calls. docs/config.md documents every key with its
// default and why; keep the two in step.

export enum Key {
  MacAgeingMs = 1,
  MacCapacity = 2,
  MaxDatagram = 3,
}

export class Config {
  /** Remote/local MAC entries not refreshed for this long are removed (Linux bridge default). */
  macAgeingMs: f64 = 300_000;
  /** Upper bound on MAC table entries; beyond it new MACs are not learned and flood. */
  macCapacity: u32 = 65536;
  /** Largest DiVS datagram we emit (fits a 1500-byte underlay after IP/UDP and sealing). */
  maxDatagram: u32 = 1400;
}

export const config = new Config();

/** Returns false for an unknown key or an out-of-range value (nothing changes). */
export function configSet(key: u32, value: f64): bool {
  switch (key) {
    case Key.MacAgeingMs:
      if (!(value >= 1000)) return false;
      config.macAgeingMs = value;
      return true;
    case Key.MacCapacity:
      if (!(value >= 16 && value <= 4_194_304)) return false;
      config.macCapacity = <u32>value;
      return true;
    case Key.MaxDatagram:
      if (!(value >= 576 && value <= 65507)) return false;
      config.maxDatagram = <u32>value;
      return true;
  }
  return false;
}
